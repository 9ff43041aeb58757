"""Consent-record operations shared by the routes and the fixture loader: create, sign, change opt-in, forget."""
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from consent import key_binding, revisions, signing
from consent.enums import RecordState, SchemaName, VerificationMethod
from consent.events import RecordGiven, RecordWithdrawn
from consent.models import ConsentRecord, DataAgreement, Individual, Revision, Signature
from consent.schemas import record_snapshot_data
from kernel.db import UnitOfWork
from kernel.errors import ApiError

RECORD = SchemaName.consent_record.value
AGREEMENT = SchemaName.data_agreement.value


def bad_request(message: str, code: str) -> ApiError:
    return ApiError(400, code, message)


def agreement_revision_for_consent(uow: UnitOfWork, agreement: DataAgreement, revision_id: str | None) -> Revision:
    """The agreement's current revision, refusing inactive agreements and stale revision ids (spec: fail, don't substitute)."""
    if not agreement.active or agreement.lifecycle != "Complete":
        raise bad_request("The data agreement is not active; no consent can be recorded for it.", "agreement_inactive")
    current = revisions.latest(uow.session, schema_name=AGREEMENT, object_id=agreement.id)
    if current is None:
        raise bad_request("The data agreement has no revision.", "agreement_inactive")
    if revision_id is not None and revision_id != current.id:
        raise bad_request("The requested revision is not the data agreement's current revision.", "revision_not_current")
    return current


DRAFT_LIFETIME = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


def draft_is_fresh(timestamp: str) -> bool:
    """A signed draft's snapshot becomes the revision as is, so its timestamp must be recent and not in the future."""
    try:
        issued = datetime.fromisoformat(timestamp)
    except ValueError:
        return False
    if issued.tzinfo is None:
        return False
    now = datetime.now(timezone.utc)
    return now - DRAFT_LIFETIME <= issued <= now + CLOCK_SKEW


def ensure_no_record(uow: UnitOfWork, *, individual_id: str, agreement_revision_id: str) -> None:
    existing = uow.session.exec(select(ConsentRecord.id).where(
        ConsentRecord.individual_id == individual_id, ConsentRecord.data_agreement_revision_id == agreement_revision_id)).first()
    if existing is not None:
        raise bad_request("The individual already has a consent record for this data agreement revision.", "record_exists")


def commit(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except IntegrityError:
        # A concurrent request stored the same (individual, agreement revision) first.
        uow.rollback()
        raise bad_request("The individual already has a consent record for this data agreement revision.", "record_exists")


def emit_given(uow: UnitOfWork, record: ConsentRecord) -> None:
    uow.emit(RecordGiven(consent_record_id=record.id, data_agreement_id=record.data_agreement_id, individual_id=record.individual_id))


def emit_withdrawn(uow: UnitOfWork, record: ConsentRecord) -> None:
    uow.emit(RecordWithdrawn(consent_record_id=record.id, data_agreement_id=record.data_agreement_id, individual_id=record.individual_id))


def create(uow: UnitOfWork, *, agreement: DataAgreement, agreement_revision: Revision, individual: Individual, opt_in: bool,
           authorized_by_other: str | None) -> tuple[ConsentRecord, Revision]:
    ensure_no_record(uow, individual_id=individual.id, agreement_revision_id=agreement_revision.id)
    record = ConsentRecord(data_agreement_id=agreement.id, data_agreement_revision_id=agreement_revision.id,
                           data_agreement_revision_hash=agreement_revision.serialized_hash, individual_id=individual.id,
                           opt_in=opt_in, state=RecordState.unsigned.value)
    uow.session.add(record)
    uow.session.flush()
    revision = revisions.append(uow.session, schema_name=RECORD, object_id=record.id, object_data=record_snapshot_data(record),
                                authorized_by_individual=individual.id, authorized_by_other=authorized_by_other)
    return record, revision


def signer_key(individual: Individual, method: str, service_key):
    """The public key a signature of this method must verify with."""
    if method == VerificationMethod.jws_individual.value:
        if not individual.public_key_jwk:
            raise bad_request("The individual has no registered signing key.", "no_signing_key")
        if not key_binding.still_current(individual.public_key_certificate):
            raise bad_request("The individual's signing key has no current certificate from the Identity BB; register the key "
                              "again with the certificate its wallet binding returned.", "key_not_bound")
        return signing.public_key(individual.public_key_jwk)
    if method == VerificationMethod.jws_service.value:
        return service_key
    raise bad_request("Unsupported verificationMethod; use jws-individual or jws-service.", "unsupported_method")


def default_method(individual: Individual) -> str:
    return (VerificationMethod.jws_individual if individual.public_key_jwk else VerificationMethod.jws_service).value


def signed_by(individual: Individual, method: str, service_key) -> str:
    if method == VerificationMethod.jws_individual.value:
        return signing.key_id(individual.public_key_jwk) if individual.public_key_jwk else ""
    return service_key.thumbprint()


def signed_as(method: str, claimed: str | None) -> str:
    """The signer's relationship to the individual follows from the method that signs (it is not in the signed payload):
    the individual's own key, or this service as delegate. A client's differing claim is refused, not stored."""
    relationship = "individual" if method == VerificationMethod.jws_individual.value else "delegate"
    if claimed not in (None, relationship):
        raise bad_request('verificationSignedAs does not match verificationMethod: "individual" for jws-individual, '
                          '"delegate" for jws-service.', "signed_as_mismatch")
    return relationship


def prepare_signature(*, verification_payload: str, method: str, signed_by_value: str, signed_as: str,
                      object_reference: str | None, artifact: str | None = None, timestamp: str | None = None) -> Signature:
    """A Signature whose `payload` is ready to be signed (not stored here)."""
    timestamp = timestamp or revisions.now_timestamp()
    without_reference = object_reference is None
    payload_hash = revisions.chain.digest(verification_payload)
    payload = signing.signature_payload(
        verification_payload=verification_payload, verification_payload_hash=payload_hash, verification_method=method,
        verification_artifact=artifact, verification_signed_by=signed_by_value, verification_jws_header=None,
        timestamp=timestamp, signed_without_object_reference=without_reference, object_type="revision",
        object_reference=object_reference)
    return Signature(payload=payload, verification_method=method, verification_payload=verification_payload,
                     verification_payload_hash=payload_hash, verification_artifact=artifact,
                     verification_signed_by=signed_by_value, verification_signed_as=signed_as, timestamp=timestamp,
                     signed_without_object_reference=without_reference, object_type="revision", object_reference=object_reference)


def change_opt_in(uow: UnitOfWork, record: ConsentRecord, *, opt_in: bool, individual_id: str,
                  authorized_by_other: str | None) -> Revision | None:
    """Opt in or out; any signature stops holding (the spec: an update invalidates it). None when nothing changes."""
    if record.opt_in == opt_in:
        return None
    was_consent = record.opt_in and record.state == RecordState.signed.value
    record.opt_in, record.state, record.signature_id = opt_in, RecordState.unsigned.value, None
    uow.session.add(record)
    revision = revisions.append(uow.session, schema_name=RECORD, object_id=record.id, object_data=record_snapshot_data(record),
                                authorized_by_individual=individual_id, authorized_by_other=authorized_by_other)
    if was_consent:
        emit_withdrawn(uow, record)
    return revision


def forget(uow: UnitOfWork, individual: Individual) -> list[str]:
    """Right to be forgotten: delete the records of forgettable agreements, and never-signed ones, with their history."""
    rows = uow.session.exec(
        select(ConsentRecord, DataAgreement.forgettable).join(DataAgreement, DataAgreement.id == ConsentRecord.data_agreement_id)
        .where(ConsentRecord.individual_id == individual.id).with_for_update()
    ).all()
    # Not the record's state: a withdrawal makes it unsigned again, yet its signed history is the audit trail of a
    # consent once given, which the spec retains unless the agreement is forgettable.
    ever_signed = set(uow.session.exec(select(Signature.consent_record_id).where(
        col(Signature.consent_record_id).in_([record.id for record, _ in rows]), col(Signature.signature).is_not(None))).all())
    deleted = []
    for record, forgettable in rows:
        if not (forgettable or record.id not in ever_signed):
            continue
        if record.opt_in and record.state == RecordState.signed.value:
            emit_withdrawn(uow, record)
        uow.session.exec(delete(Signature).where(Signature.consent_record_id == record.id))
        revisions.erase(uow.session, schema_name=RECORD, object_id=record.id)
        uow.session.delete(record)
        deleted.append(record.id)
    return sorted(deleted)
