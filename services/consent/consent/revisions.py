"""Appending revisions to an object's chain, and checking stored chains against the rows they describe."""
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlmodel import Session, col, select

from consent import chain, signing
from consent.enums import SchemaName, VerificationMethod
from consent.models import ConsentRecord, DataAgreement, DataAgreementAttribute, Individual, Policy, Revision, Signature
from consent.schemas import agreement_wire, policy_wire, record_snapshot_data


def now_timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def latest(session: Session, *, schema_name: str, object_id: str) -> Revision | None:
    return session.exec(
        select(Revision).where(Revision.schema_name == schema_name, Revision.object_id == object_id)
        .order_by(col(Revision.seq).desc()).limit(1)
    ).first()


def history(session: Session, *, schema_name: str, object_id: str) -> list[Revision]:
    return list(session.exec(
        select(Revision).where(Revision.schema_name == schema_name, Revision.object_id == object_id).order_by(col(Revision.seq))
    ))


def append(session: Session, *, schema_name: str, object_id: str, object_data: dict | None = None,
           serialized_snapshot: str | None = None, authorized_by_individual: str | None = None,
           authorized_by_other: str | None = None, predecessor_signature: str | None = None) -> Revision:
    """Add the next revision of an object, chained to its latest one. Callers lock the object row first.

    `serialized_snapshot` is given when the snapshot was signed before the object existed (the draft flow);
    otherwise it is built here from `object_data`.
    """
    if serialized_snapshot is None:
        serialized_snapshot = chain.snapshot(
            schema_name=schema_name, object_id=object_id, object_data=object_data, timestamp=now_timestamp(),
            authorized_by_individual=authorized_by_individual, authorized_by_other=authorized_by_other,
        )
    parsed = chain.snapshot_data(serialized_snapshot) or {}
    previous = latest(session, schema_name=schema_name, object_id=object_id)
    revision = Revision(
        schema_name=schema_name, object_id=object_id, signed_without_object_id=bool(parsed.get("signedWithoutObjectId")),
        serialized_snapshot=serialized_snapshot, serialized_hash=chain.digest(serialized_snapshot),
        timestamp=str(parsed.get("timestamp") or now_timestamp()), authorized_by_individual_id=authorized_by_individual,
        authorized_by_other=authorized_by_other, predecessor_hash=previous.serialized_hash if previous else None,
        predecessor_signature=predecessor_signature,
    )
    if previous is not None:
        previous.successor_id = revision.id
        session.add(previous)
    session.add(revision)
    session.flush()
    return revision


def agreement_data(session: Session, agreement: DataAgreement) -> dict:
    """The agreement with every related object, as the spec asks of agreement snapshots."""
    attributes = session.exec(
        select(DataAgreementAttribute).where(DataAgreementAttribute.data_agreement_id == agreement.id)
        .order_by(col(DataAgreementAttribute.position))
    ).all()
    policy = None
    if agreement.policy_revision_id:
        policy_revision = session.exec(select(Revision).where(Revision.id == agreement.policy_revision_id)).first()
        if policy_revision is not None:
            policy = (chain.snapshot_data(policy_revision.serialized_snapshot) or {}).get("objectData")
    data = agreement_wire(agreement, policy=policy, attributes=list(attributes))
    return {**data, "deleted": True} if agreement.deleted else data


def policy_data(policy: Policy) -> dict:
    data = policy_wire(policy)
    return {**data, "deleted": True} if policy.deleted else data


def current_object_data(session: Session, *, schema_name: str, object_id: str) -> dict | None:
    """What the object's latest revision should say about it now; None when the row is gone."""
    if schema_name == SchemaName.policy.value:
        policy = session.get(Policy, object_id)
        return policy_data(policy) if policy else None
    if schema_name == SchemaName.data_agreement.value:
        agreement = session.get(DataAgreement, object_id)
        return agreement_data(session, agreement) if agreement else None
    record = session.get(ConsentRecord, object_id)
    return record_snapshot_data(record) if record else None


@dataclass(frozen=True)
class ChainReport:
    schema_name: str
    object_id: str
    revisions: int
    broken_revision_id: str | None = None
    broken_position: int | None = None
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.broken_revision_id is None

    def as_wire(self) -> dict:
        data = asdict(self)
        return {"schemaName": data["schema_name"], "objectId": data["object_id"], "revisions": data["revisions"],
                "valid": self.valid, "brokenRevisionId": data["broken_revision_id"],
                "brokenPosition": data["broken_position"], "reason": data["reason"]}


def verify_object(session: Session, *, schema_name: str, object_id: str, service_key=None) -> ChainReport:
    """Check one object's chain, the signatures over its revisions, then that its latest snapshot still describes the row.

    The hash chain shows that history was not edited piecemeal; the signatures show that a consistently rehashed
    history was not forged either, since only the signer's key can sign a new snapshot.
    """
    revisions = history(session, schema_name=schema_name, object_id=object_id)
    links = [chain.Link(r.id, r.schema_name, r.object_id, r.serialized_snapshot, r.serialized_hash, r.predecessor_hash) for r in revisions]
    broken = chain.first_break(links)
    if broken is not None:
        return ChainReport(schema_name, object_id, len(revisions), broken.revision_id, broken.position, broken.reason)
    if schema_name == SchemaName.consent_record.value:
        for position, revision in enumerate(revisions):
            reason = _signature_problem(session, revision, object_id=object_id, service_key=service_key)
            if reason:
                return ChainReport(schema_name, object_id, len(revisions), revision.id, position, reason)
    if revisions:
        current = current_object_data(session, schema_name=schema_name, object_id=object_id)
        recorded = (chain.snapshot_data(revisions[-1].serialized_snapshot) or {}).get("objectData")
        if current is not None and current != recorded:
            return ChainReport(schema_name, object_id, len(revisions), revisions[-1].id, len(revisions) - 1,
                               "the stored object differs from its latest revision")
    return ChainReport(schema_name, object_id, len(revisions))


def _signature_problem(session: Session, revision: Revision, *, object_id: str, service_key) -> str | None:
    """Why a signature over this revision does not hold, or None. A key since replaced cannot be checked and is skipped."""
    signatures = session.exec(select(Signature).where(
        Signature.consent_record_id == object_id, Signature.object_type == "revision", Signature.object_reference == revision.id,
        col(Signature.signature).is_not(None))).all()
    for signature in signatures:
        if signature.verification_payload != revision.serialized_snapshot or \
                signature.verification_payload_hash != chain.digest(signature.verification_payload):
            return "a signature does not cover this revision's snapshot"
        expected_payload = signing.signature_payload(
            verification_payload=signature.verification_payload, verification_payload_hash=signature.verification_payload_hash,
            verification_method=signature.verification_method, verification_artifact=signature.verification_artifact,
            verification_signed_by=signature.verification_signed_by, verification_jws_header=signature.verification_jws_header,
            timestamp=signature.timestamp, signed_without_object_reference=signature.signed_without_object_reference,
            object_type=signature.object_type, object_reference=signature.object_reference)
        if signature.payload != expected_payload:
            return "a signature's payload does not match its verification fields"
        key = _signer_key(session, signature, object_id=object_id, service_key=service_key)
        if key is not None and not signing.verifies(signature.signature, signature.payload, key):
            return "the signature over this revision does not verify"
    return None


def _signer_key(session: Session, signature: Signature, *, object_id: str, service_key):
    if signature.verification_method == VerificationMethod.jws_service.value:
        return service_key if service_key is not None and service_key.thumbprint() == signature.verification_signed_by else None
    record = session.get(ConsentRecord, object_id)
    individual = session.get(Individual, record.individual_id) if record else None
    if individual is None or not individual.public_key_jwk or signing.key_id(individual.public_key_jwk) != signature.verification_signed_by:
        return None
    return signing.public_key(individual.public_key_jwk)


def verify_all(session: Session, *, schema_name: str | None = None, service_key=None) -> list[ChainReport]:
    query = select(Revision.schema_name, Revision.object_id).distinct()
    if schema_name:
        query = query.where(Revision.schema_name == schema_name)
    objects = sorted(session.exec(query).all())
    return [verify_object(session, schema_name=s, object_id=o, service_key=service_key) for s, o in objects]
