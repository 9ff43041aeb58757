"""Checking stored history: each object's chain (hashes, links, numbers), the seals and signatures over its revisions, what
a consent record's revisions say of the agreement revision they were given to, the row against its latest revision, and
an auditor's signed checkpoint (which alone reveals revisions deleted from the end of a chain).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, exists, func
from sqlmodel import Session, col, select

from consent import chain, seal, signing
from consent.enums import RecordState, SchemaName, VerificationMethod
from consent.models import ConsentRecord, DataAgreement, ErasedChain, Individual, Policy, Revision, Signature
from consent.revisions import current_object_data, history

log = logging.getLogger(__name__)
RECORD, AGREEMENT = SchemaName.consent_record.value, SchemaName.data_agreement.value
_TABLES = {SchemaName.policy.value: Policy, AGREEMENT: DataAgreement, RECORD: ConsentRecord}


CHECKPOINT_TYPE = "consent-audit-checkpoint"  # tells a checkpoint's signed payload from a revision's seal


class CheckpointInvalid(ValueError):
    pass


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
        return self.reason is None

    def as_wire(self) -> dict:
        return {"schemaName": self.schema_name, "objectId": self.object_id, "revisions": self.revisions, "valid": self.valid,
                "brokenRevisionId": self.broken_revision_id, "brokenPosition": self.broken_position, "reason": self.reason}


def verify_object(session: Session, *, schema_name: str, object_id: str, keys: dict | None, service_key=None,
                  checkpoint: dict | None = None) -> ChainReport:
    """The first thing about one object's history that does not hold. `keys`: the trusted audit keys by kid (None only
    for the one-time sealing of older revisions, which checks everything but seals). `checkpoint`: (schema, object id)
    -> the latest revision an auditor's checkpoint recorded."""
    revisions = history(session, schema_name=schema_name, object_id=object_id)
    links = [chain.Link(r.id, r.schema_name, r.object_id, r.serialized_snapshot, r.serialized_hash, r.predecessor_hash,
                        r.number, r.successor_id) for r in revisions]
    broken = chain.first_break(links)
    agreement_revisions: dict[str, Revision | None] = {}

    def report(position: int | None, reason: str, revision_id: str | None = None) -> ChainReport:
        if revision_id is None and position is not None:
            revision_id = revisions[position].id
        return ChainReport(schema_name, object_id, len(revisions), revision_id, position, reason)

    for position, revision in enumerate(revisions):
        if broken is not None and broken.position == position:
            return report(position, broken.reason, broken.revision_id)
        reason = None
        if schema_name == RECORD:
            reason = (_signature_problem(session, revision, object_id=object_id, service_key=service_key)
                      or _agreement_problem(session, revision, keys, agreement_revisions))
        if reason is None and keys is not None:
            reason = seal.seal_problem(revision, keys)
        if reason:
            return report(position, reason)

    if schema_name == RECORD and revisions and not _signed_as_it_says(session, revisions):
        return report(len(revisions) - 1, "the record is signed but no signature over its revisions is stored")

    expected = (checkpoint or {}).get((schema_name, object_id))
    if expected is not None:
        place = expected["number"] - 1
        if not revisions and _erased_since(session, expected, keys) and current_object_data(
                session, schema_name=schema_name, object_id=object_id) is None:
            return ChainReport(schema_name, object_id, 0)  # forgotten at the individual's request, as its receipt shows
        if len(revisions) <= place:
            return report(place, f"the chain ends before revision {expected['number']}, its latest at the checkpoint: "
                                 "revisions were deleted since", expected["revisionId"])
        if revisions[place].id != expected["revisionId"] or revisions[place].serialized_hash != expected["serializedHash"]:
            return report(place, "the revision the checkpoint recorded at this place is not there any more", expected["revisionId"])

    current = current_object_data(session, schema_name=schema_name, object_id=object_id)
    if not revisions:
        return report(None, "the object has no revisions") if current is not None else ChainReport(schema_name, object_id, 0)
    if current is None:
        return report(len(revisions) - 1, "the object's row is missing")
    if current != (chain.snapshot_data(revisions[-1].serialized_snapshot) or {}).get("objectData"):
        return report(len(revisions) - 1, "the stored object differs from its latest revision")
    return ChainReport(schema_name, object_id, len(revisions))


def _agreement_problem(session: Session, revision: Revision, keys: dict | None, cache: dict) -> str | None:
    """A consent record's revision must name, by id and hash, a data agreement revision that holds (spec: the record is
    bound to what the individual was shown)."""
    data = (chain.snapshot_data(revision.serialized_snapshot) or {}).get("objectData") or {}
    revision_id = data.get("dataAgreementRevisionId")
    if not isinstance(revision_id, str):
        return "the revision names no data agreement revision"
    if revision_id not in cache:
        cache[revision_id] = session.exec(select(Revision).where(Revision.id == revision_id)).first()
    agreed = cache[revision_id]
    if agreed is None or agreed.schema_name != AGREEMENT or agreed.object_id != data.get("dataAgreementId"):
        return "the data agreement revision it names is not there"
    if agreed.serialized_hash != data.get("dataAgreementRevisionHash") or chain.digest(agreed.serialized_snapshot) != agreed.serialized_hash:
        return "the data agreement revision it names does not have the hash consented to"
    if keys is not None and seal.seal_problem(agreed, keys):
        return "the data agreement revision it names is not sealed by a trusted key"
    return None


def _erased_since(session: Session, expected: dict, keys: dict | None) -> bool:
    """A sealed receipt shows the chain was erased (the right to be forgotten) at or after the checkpoint's revision."""
    erased = session.get(ErasedChain, (expected["schemaName"], expected["objectId"]))
    if erased is None or keys is None:
        return False
    payload, _ = seal.signed_payload(erased.seal, keys)
    if payload != seal.erasure_payload(erased).encode():
        return False
    return erased.number > expected["number"] or (erased.number == expected["number"] and erased.revision_id == expected["revisionId"])


def _signed_as_it_says(session: Session, revisions: list[Revision]) -> bool:
    """A record whose latest revision says `signed` keeps a signature over one of its revisions (which
    _signature_problem then checks): deleting the signature rows must not leave an unprovable "signed" consent."""
    latest = (chain.snapshot_data(revisions[-1].serialized_snapshot) or {}).get("objectData") or {}
    if latest.get("state") != RecordState.signed.value:
        return True
    return session.exec(select(Signature.id).where(
        Signature.consent_record_id == revisions[-1].object_id, col(Signature.signature).is_not(None),
        col(Signature.object_reference).in_([r.id for r in revisions])).limit(1)).first() is not None


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


def _objects(session: Session, schema_name: str | None, checkpoint: dict | None) -> list[tuple[str, str]]:
    """Every object with revisions, every row without any, and every object the checkpoint names."""
    query = select(Revision.schema_name, Revision.object_id).distinct()
    if schema_name:
        query = query.where(Revision.schema_name == schema_name)
    objects = set(session.exec(query).all())
    for name, table in _TABLES.items():
        if schema_name in (None, name):
            unrevised = select(table.id).where(~exists().where(and_(Revision.schema_name == name, Revision.object_id == table.id)))
            objects.update((name, object_id) for object_id in session.exec(unrevised))
    objects.update(key for key in (checkpoint or {}) if schema_name in (None, key[0]))
    return sorted(objects)


def verify_all(session: Session, *, keys: dict, schema_name: str | None = None, service_key=None,
               checkpoint: dict | None = None) -> list[ChainReport]:
    return [verify_object(session, schema_name=s, object_id=o, keys=keys, service_key=service_key, checkpoint=checkpoint)
            for s, o in _objects(session, schema_name, checkpoint)]


def seal_legacy(session: Session, key) -> None:
    """Once, by the operator after upgrading (`python -m consent.audit seal-legacy`): seal the revisions written before
    revisions were sealed, chain by chain, only where the chain verifies; the others stay unsealed, and verification
    reports them."""
    unsealed = sorted(session.exec(select(Revision.schema_name, Revision.object_id).where(col(Revision.seal).is_(None)).distinct()))
    left = 0
    for schema_name, object_id in unsealed:
        if not verify_object(session, schema_name=schema_name, object_id=object_id, keys=None).valid:
            left += 1
            log.warning("audit: %s %s does not verify; its revisions stay unsealed", schema_name, object_id)
            continue
        for revision in history(session, schema_name=schema_name, object_id=object_id):
            if revision.seal is None:
                revision.seal = seal.sign(seal.revision_payload(revision), key)
                session.add(revision)
    session.flush()
    if unsealed:
        log.warning("audit: sealed the revisions of %d chains written before sealing; %d left unsealed", len(unsealed) - left, left)


def checkpoint(session: Session, key, *, schema_name: str | None = None) -> dict:
    """Every chain's latest revision now, signed with the audit key: kept by an auditor, it later shows revisions deleted
    from the end of a chain, which nothing left in the database can."""
    newest = select(func.max(Revision.seq)).group_by(Revision.schema_name, Revision.object_id)
    if schema_name:
        newest = newest.where(Revision.schema_name == schema_name)
    heads = session.exec(select(Revision).where(col(Revision.seq).in_(newest)).order_by(Revision.schema_name, Revision.object_id))
    body = {"type": CHECKPOINT_TYPE, "issuedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "chains": [{"schemaName": r.schema_name, "objectId": r.object_id, "revisionId": r.id, "number": r.number,
                        "serializedHash": r.serialized_hash} for r in heads]}
    return {"checkpoint": body, "signature": seal.sign(chain.canonical_json(body), key)}


def open_checkpoint(document, keys: dict) -> dict:
    """(schema, object id) -> latest revision, from a checkpoint signed with a trusted audit key; CheckpointInvalid if not."""
    if not isinstance(document, dict) or not isinstance(document.get("signature"), str):
        raise CheckpointInvalid("A checkpoint is {checkpoint, signature}, as `checkpoint` made it.")
    payload, why = seal.signed_payload(document["signature"], keys)
    if payload is None:
        raise CheckpointInvalid(f"The checkpoint's signature {why}.")
    try:
        signed_matches = payload == chain.canonical_json(document.get("checkpoint")).encode()
    except (TypeError, ValueError):
        signed_matches = False
    if not signed_matches or document["checkpoint"].get("type") != CHECKPOINT_TYPE:
        raise CheckpointInvalid("The checkpoint is not what its signature covers.")
    entries = {}
    for entry in document["checkpoint"].get("chains") or []:  # signed by us, so in the shape checkpoint() writes
        if not isinstance(entry.get("number"), int) or entry["number"] < 1:
            raise CheckpointInvalid(f"The checkpoint's chain of {entry.get('objectId')} has no revision number.")
        entries[(entry["schemaName"], entry["objectId"])] = entry
    return entries
