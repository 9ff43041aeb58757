"""Consent records, for the application acting for one individual: opt in, draft -> sign -> store, withdraw, forget."""

from fastapi import APIRouter, Request
from sqlmodel import col, select

from consent import chain, records, revisions, signing
from consent.enums import RecordState, VerificationMethod
from consent.models import ConsentRecord, Individual, Revision, Signature
from consent.routes.deps import (
    ForIndividual,
    IndividualHeader,
    IndividualIdQuery,
    PageDep,
    RevisionIdQuery,
    acting_individual,
    bad_request,
    id_path,
    is_citizen,
    load_agreement,
    not_found,
    query_id,
)
from consent.schemas import (
    ConsentRecordSignatureBody,
    ConsentRecordUpdateBody,
    SignatureBody,
    SignatureIn,
    record_data,
    record_snapshot_data,
    record_wire,
    revision_wire,
    signature_wire,
)
from kernel.auth import Caller
from kernel.db import UnitOfWork, UowDep
from kernel.errors import ApiError

router = APIRouter(tags=["service"])
AgreementId = id_path("dataAgreementId")
RecordId = id_path("consentRecordId")


def _other(caller: Caller) -> str | None:
    """An application's own identity goes on the revisions it authorises; a citizen is the individual already."""
    return None if is_citizen(caller) else caller.subject


def _service_key(request: Request):
    return signing.service_key(request.app.state.settings.signing_key_path)


def _load_record(uow: UnitOfWork, caller: Caller, record_id: str, header: str | None, *, lock: bool = False) -> tuple[ConsentRecord, Individual]:
    record = uow.session.get(ConsentRecord, record_id, with_for_update=lock)
    if record is None:
        raise not_found("consent record")
    individual = acting_individual(uow, caller, header or (None if is_citizen(caller) else record.individual_id))
    if record.individual_id != individual.id:
        raise ApiError(403, "forbidden", "This consent record belongs to another individual.")
    return record, individual


def _check_signature_value(value: str | None, payload: str, key, *, caller: Caller, method: str, service_key) -> str:
    """The verified signature value; the service signs itself only for a citizen's own token (a delegate signature)."""
    if method == VerificationMethod.jws_service.value:
        if not is_citizen(caller):
            raise ApiError(403, "forbidden", "The service signs on an individual's behalf only for the citizen's own token.")
        if value is None:
            return signing.sign(payload, service_key)
    if not value or not signing.verifies(value, payload, key):
        raise bad_request("The signature does not verify against the payload and the signer's key.", "signature_invalid")
    return value


@router.post("/service/individual/record/data-agreement/{dataAgreementId}/")
def service_individual_consent_record_create(agreement_id: AgreementId, individual_id: query_id("individualId", required=True), uow: UowDep,
                                             caller: ForIndividual, header: IndividualHeader = None,
                                             revision_id: RevisionIdQuery = None) -> dict:
    individual = acting_individual(uow, caller, individual_id, header)
    agreement = load_agreement(uow, agreement_id)
    agreement_revision = records.agreement_revision_for_consent(uow, agreement, revision_id)
    record, revision = records.create(uow, agreement=agreement, agreement_revision=agreement_revision, individual=individual,
                                      opt_in=True, authorized_by_other=_other(caller))
    records.commit(uow)
    return {"consentRecord": record_wire(record), "revision": revision_wire(revision)}


@router.get("/service/individual/record/data-agreement/{dataAgreementId}/")
def service_individual_consent_record_read(agreement_id: AgreementId, uow: UowDep, caller: ForIndividual,
                                           header: IndividualHeader = None, individual_id: IndividualIdQuery = None) -> dict:
    individual = acting_individual(uow, caller, header, individual_id)
    agreement = load_agreement(uow, agreement_id)
    # The record at the agreement's current revision if there is one, else the newest.
    candidates = uow.session.exec(select(ConsentRecord).where(
        ConsentRecord.individual_id == individual.id, ConsentRecord.data_agreement_id == agreement.id)
        .order_by(col(ConsentRecord.created_at).desc())).all()
    current = [r for r in candidates if r.data_agreement_revision_id == agreement.current_revision_id] or candidates
    if not current:
        raise not_found("consent record for this individual and data agreement")
    return {"consentRecord": record_wire(current[0])}


@router.get("/service/individual/record/data-agreement/{dataAgreementId}/all/")
def service_individual_data_agreement_consent_record_list(agreement_id: AgreementId, uow: UowDep, caller: ForIndividual,
                                                          page: PageDep, header: IndividualHeader = None,
                                                          individual_id: IndividualIdQuery = None) -> dict:
    individual = acting_individual(uow, caller, header, individual_id)
    agreement = load_agreement(uow, agreement_id)
    found = uow.session.exec(select(ConsentRecord).where(
        ConsentRecord.individual_id == individual.id, ConsentRecord.data_agreement_id == agreement.id)
        .order_by(col(ConsentRecord.created_at)).offset(page.offset).limit(page.limit)).all()
    return {"consentRecords": [record_wire(r) for r in found]}


@router.post("/service/individual/record/consent-record/draft/")
def service_individual_consent_record_draft_create(request: Request, individual_id: query_id("individualId", required=True), data_agreement_id: query_id("dataAgreementId", required=True),
                                                   uow: UowDep, caller: ForIndividual, header: IndividualHeader = None,
                                                   revision_id: RevisionIdQuery = None) -> dict:
    """A record and the Signature to sign for it, both without ids: nothing is stored until they come back signed."""
    individual = acting_individual(uow, caller, individual_id, header)
    agreement = load_agreement(uow, data_agreement_id)
    agreement_revision = records.agreement_revision_for_consent(uow, agreement, revision_id)
    records.ensure_no_record(uow, individual_id=individual.id, agreement_revision_id=agreement_revision.id)
    data = record_data(data_agreement_id=agreement.id, data_agreement_revision_id=agreement_revision.id,
                       data_agreement_revision_hash=agreement_revision.serialized_hash, individual_id=individual.id,
                       opt_in=True, state=RecordState.signed.value)
    snapshot = chain.snapshot(schema_name=records.RECORD, object_id=None, object_data=data, timestamp=revisions.now_timestamp(),
                              authorized_by_individual=individual.id, signed_without_object_id=True)
    method = records.default_method(individual)
    service_key = _service_key(request)
    records.signer_key(individual, method, service_key)  # a key that no longer verifies is refused now, not once signed
    signature = records.prepare_signature(
        verification_payload=snapshot, method=method, signed_by_value=records.signed_by(individual, method, service_key),
        signed_as=records.signed_as(method, None), object_reference=None)
    return {"consentRecord": {"id": None, **{**data, "state": RecordState.unsigned.value}, "signatureId": None},
            "signature": {**signature_wire(signature), "id": None}}


def _signed_draft_snapshot(signature_in: SignatureIn, *, agreement_revision, individual: Individual, opt_in: bool) -> str:
    """The draft snapshot the signature covers, checked to be exactly this record's (and fresh), else a 400."""
    snapshot = signature_in.verification_payload or ""
    parsed = chain.snapshot_data(snapshot) or {}
    timestamp = parsed.get("timestamp")
    expected = chain.snapshot(
        schema_name=records.RECORD, object_id=None, timestamp=timestamp if isinstance(timestamp, str) else "",
        object_data=record_data(data_agreement_id=agreement_revision.object_id, data_agreement_revision_id=agreement_revision.id,
                                data_agreement_revision_hash=agreement_revision.serialized_hash, individual_id=individual.id,
                                opt_in=opt_in, state=RecordState.signed.value),
        authorized_by_individual=individual.id, signed_without_object_id=True)
    if not isinstance(timestamp, str) or snapshot != expected:
        raise bad_request("verificationPayload is not the serialized snapshot of this consent record.", "payload_mismatch")
    if not records.draft_is_fresh(timestamp):
        raise bad_request("The draft is too old or dated in the future; ask for a new draft.", "draft_expired")
    if signature_in.verification_payload_hash != chain.digest(snapshot):
        raise bad_request("verificationPayloadHash is not the hash of verificationPayload.", "payload_hash_mismatch")
    if signature_in.object_type not in (None, "revision") or signature_in.signed_without_object_reference is False:
        raise bad_request("A draft's signature signs the record's revision, without an object reference.", "payload_mismatch")
    return snapshot


@router.post("/service/individual/record/consent-record/")
def service_individual_consent_record_signature_create(request: Request, body: ConsentRecordSignatureBody, uow: UowDep,
                                                       caller: ForIndividual, header: IndividualHeader = None) -> dict:
    """Store a signed draft: the record, a revision whose snapshot is exactly what was signed, and the signature, atomically."""
    record_in, signature_in = body.consent_record, body.signature
    individual = acting_individual(uow, caller, header, record_in.individual_id)
    agreement = load_agreement(uow, record_in.data_agreement_id)
    agreement_revision = records.agreement_revision_for_consent(uow, agreement, record_in.data_agreement_revision_id)
    if record_in.data_agreement_revision_hash != agreement_revision.serialized_hash:
        raise bad_request("dataAgreementRevisionHash is not the hash of the agreement's current revision.", "revision_hash_mismatch")
    records.ensure_no_record(uow, individual_id=individual.id, agreement_revision_id=agreement_revision.id)

    snapshot = _signed_draft_snapshot(signature_in, agreement_revision=agreement_revision, individual=individual,
                                      opt_in=record_in.opt_in)

    method = signature_in.verification_method or records.default_method(individual)
    service_key = _service_key(request)
    key = records.signer_key(individual, method, service_key)
    expected_signer = records.signed_by(individual, method, service_key)
    if signature_in.verification_signed_by not in (None, expected_signer):
        raise bad_request("verificationSignedBy does not name the signer's key.", "signer_mismatch")
    signed_as = records.signed_as(method, signature_in.verification_signed_as)
    signature = records.prepare_signature(verification_payload=snapshot, method=method, signed_by_value=expected_signer,
                                          signed_as=signed_as, object_reference=None, artifact=signature_in.verification_artifact,
                                          timestamp=signature_in.timestamp)
    if signature_in.payload is not None and signature_in.payload != signature.payload:
        raise bad_request("payload is not the serialization of the signature's verification fields.", "payload_mismatch")
    signature.signature = _check_signature_value(signature_in.signature, signature.payload, key, caller=caller, method=method,
                                                 service_key=service_key)

    record = ConsentRecord(data_agreement_id=agreement.id, data_agreement_revision_id=agreement_revision.id,
                           data_agreement_revision_hash=agreement_revision.serialized_hash, individual_id=individual.id,
                           opt_in=record_in.opt_in, state=RecordState.signed.value, signature_id=signature.id)
    uow.session.add(record)
    uow.session.flush()
    revision = revisions.append(uow.session, schema_name=records.RECORD, object_id=record.id, serialized_snapshot=snapshot,
                                authorized_by_individual=individual.id)
    signature.object_reference, signature.consent_record_id = revision.id, record.id
    uow.session.add(signature)
    if record.opt_in:
        records.emit_given(uow, record)
    records.commit(uow)
    return {"consentRecord": record_wire(record), "revision": revision_wire(revision), "signature": signature_wire(signature)}


@router.get("/service/individual/record/consent-record/")
def service_individual_consent_record_list(uow: UowDep, caller: ForIndividual, page: PageDep, header: IndividualHeader = None,
                                           individual_id: IndividualIdQuery = None) -> dict:
    """The individual's records ("my consents" in the citizen portal). Beyond the spec's ConsentRecord, each carries what
    a person needs to recognise it: the purpose of the agreement revision it was given to, and when it was created."""
    individual = acting_individual(uow, caller, header, individual_id)
    found = uow.session.exec(select(ConsentRecord).where(ConsentRecord.individual_id == individual.id)
                             .order_by(col(ConsentRecord.created_at)).offset(page.offset).limit(page.limit)).all()
    purposes = _agreed_purposes(uow, {r.data_agreement_revision_id for r in found})
    return {"consentRecords": [{**record_wire(r), "dataAgreementPurpose": purposes.get(r.data_agreement_revision_id),
                                "createdAt": r.created_at.isoformat()} for r in found]}


def _agreed_purposes(uow: UnitOfWork, revision_ids: set[str]) -> dict[str, str | None]:
    """Purpose by agreement revision id, from the revisions' snapshots: what the individual agreed to, even if changed since."""
    if not revision_ids:
        return {}
    agreement_revisions = uow.session.exec(select(Revision).where(col(Revision.id).in_(revision_ids))).all()
    return {r.id: ((chain.snapshot_data(r.serialized_snapshot) or {}).get("objectData") or {}).get("purpose")
            for r in agreement_revisions}


@router.put("/service/individual/record/consent-record/{consentRecordId}/")
def service_individual_consent_record_update(record_id: RecordId, body: ConsentRecordUpdateBody, uow: UowDep,
                                             caller: ForIndividual, header: IndividualHeader = None) -> dict:
    """Only optIn may change (withdraw = optIn false); a new revision, and any signature stops holding."""
    record, individual = _load_record(uow, caller, record_id, header, lock=True)
    update = body.consent_record
    if update.data_agreement_id not in (None, record.data_agreement_id) or update.individual_id not in (None, record.individual_id):
        raise bad_request("Only optIn of a consent record may change.", "field_not_updatable")
    revision = records.change_opt_in(uow, record, opt_in=update.opt_in, individual_id=individual.id, authorized_by_other=_other(caller))
    if revision is None:
        revision = revisions.latest(uow.session, schema_name=records.RECORD, object_id=record.id)
    uow.commit()
    return {"consentRecord": record_wire(record), "revision": revision_wire(revision)}


@router.post("/service/individual/record/consent-record/{consentRecordId}/signature/")
def service_individual_signature_create(request: Request, record_id: RecordId, body: SignatureBody, uow: UowDep,
                                        caller: ForIndividual, header: IndividualHeader = None) -> dict:
    """A stored, unsigned Signature over the record's latest revision, ready for the signer."""
    record, individual = _load_record(uow, caller, record_id, header, lock=True)
    if not record.opt_in:
        raise bad_request("A withdrawn consent record cannot be signed as consent; opt in again first.", "record_withdrawn")
    if record.state == RecordState.signed.value:
        raise bad_request("The consent record is already signed.", "already_signed")
    method = body.signature.verification_method or records.default_method(individual)
    service_key = _service_key(request)
    records.signer_key(individual, method, service_key)
    latest = revisions.latest(uow.session, schema_name=records.RECORD, object_id=record.id)
    signature = records.prepare_signature(
        verification_payload=latest.serialized_snapshot, method=method,
        signed_by_value=records.signed_by(individual, method, service_key),
        signed_as=records.signed_as(method, body.signature.verification_signed_as),
        object_reference=latest.id, artifact=body.signature.verification_artifact)
    signature.consent_record_id = record.id
    uow.session.add(signature)
    uow.commit()
    return {"signature": signature_wire(signature)}


@router.put("/service/individual/record/consent-record/{consentRecordId}/signature/")
def service_individual_signature_update(request: Request, record_id: RecordId, body: SignatureBody, uow: UowDep,
                                        caller: ForIndividual, header: IndividualHeader = None) -> dict:
    """Attach the signed value to the prepared Signature; once it verifies the record is signed (a new revision)."""
    record, individual = _load_record(uow, caller, record_id, header, lock=True)
    if not record.opt_in:
        raise bad_request("A withdrawn consent record cannot be signed as consent; opt in again first.", "record_withdrawn")
    signature = _prepared_signature(uow, record, body.signature)
    latest = revisions.latest(uow.session, schema_name=records.RECORD, object_id=record.id)
    if signature.object_reference != latest.id:
        raise bad_request("The record changed since this signature was prepared; prepare a new one.", "signature_stale")
    service_key = _service_key(request)
    key = records.signer_key(individual, signature.verification_method, service_key)
    signature.signature = _check_signature_value(body.signature.signature, signature.payload, key, caller=caller,
                                                 method=signature.verification_method, service_key=service_key)
    record.state, record.signature_id = RecordState.signed.value, signature.id
    uow.session.add_all([signature, record])
    revisions.append(uow.session, schema_name=records.RECORD, object_id=record.id, object_data=record_snapshot_data(record),
                     authorized_by_individual=individual.id, authorized_by_other=_other(caller),
                     predecessor_signature=signature.signature)
    records.emit_given(uow, record)
    uow.commit()
    return {"signature": signature_wire(signature)}


def _prepared_signature(uow: UnitOfWork, record: ConsentRecord, signature_in: SignatureIn) -> Signature:
    query = select(Signature).where(Signature.consent_record_id == record.id, col(Signature.signature).is_(None))
    if signature_in.id:
        query = query.where(Signature.id == signature_in.id)
    signature = uow.session.exec(query.order_by(col(Signature.timestamp).desc())).first()
    if signature is None:
        raise bad_request("No prepared signature for this record; POST one first.", "no_prepared_signature")
    return signature


@router.delete("/service/individual/record/")
def service_individual_consent_record_delete_all(uow: UowDep, caller: ForIndividual, header: IndividualHeader = None,
                                                 individual_id: IndividualIdQuery = None) -> dict:
    individual = acting_individual(uow, caller, header, individual_id)
    deleted = records.forget(uow, individual)
    uow.commit()
    return {"deletedConsentRecordIds": deleted}
