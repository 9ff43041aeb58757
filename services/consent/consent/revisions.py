"""Appending sealed revisions to an object's chain, and what an object's latest revision should say about it now."""
from datetime import datetime, timezone

from sqlmodel import Session, col, delete, select

from consent import chain, seal
from consent.enums import SchemaName
from consent.models import ConsentRecord, DataAgreement, DataAgreementAttribute, ErasedChain, Policy, Revision
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
    key = audit_key(session)  # before the predecessor is touched: the first key's creation seals older revisions
    previous = latest(session, schema_name=schema_name, object_id=object_id)
    revision = Revision(
        schema_name=schema_name, object_id=object_id, signed_without_object_id=bool(parsed.get("signedWithoutObjectId")),
        serialized_snapshot=serialized_snapshot, serialized_hash=chain.digest(serialized_snapshot),
        timestamp=str(parsed.get("timestamp") or now_timestamp()), authorized_by_individual_id=authorized_by_individual,
        authorized_by_other=authorized_by_other, predecessor_hash=previous.serialized_hash if previous else None,
        predecessor_signature=predecessor_signature, number=previous.number + 1 if previous else 1,
    )
    revision.seal = seal.sign(seal.revision_payload(revision), key)
    if previous is not None:
        previous.successor_id = revision.id
        session.add(previous)
    session.add(revision)
    session.flush()
    return revision


def erase(session: Session, *, schema_name: str, object_id: str) -> None:
    """Delete an object's chain (the right to be forgotten), leaving a sealed receipt of how far it went."""
    last = latest(session, schema_name=schema_name, object_id=object_id)
    if last is not None:
        erased = ErasedChain(schema_name=schema_name, object_id=object_id, number=last.number, revision_id=last.id,
                             erased_at=now_timestamp(), seal="")
        erased.seal = seal.sign(seal.erasure_payload(erased), audit_key(session))
        session.merge(erased)
    session.exec(delete(Revision).where(Revision.schema_name == schema_name, Revision.object_id == object_id))


def audit_key(session: Session):
    """The key revisions are sealed with; made on first use. Revisions written before sealing existed are sealed only
    by the operator's `python -m consent.audit seal-legacy`, never by the service: otherwise someone who empties the key
    table and clears the seals would have the next start seal their forgeries."""
    return seal.signing_key(session)


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
