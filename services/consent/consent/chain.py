"""Revision snapshots, their hashes and the checks of a hash chain: pure functions, no I/O.

Per the spec, a snapshot is the JSON of {objectData, schemaName, objectId, signedWithoutObjectId, timestamp,
authorizedByIndividual, authorizedByOther}; each revision stores its snapshot's hash, and the hash of its
predecessor (predecessorHash), so changing any stored snapshot breaks the chain at that revision.
The spec names SHA-1; we hash with SHA-256 (SHA-1 collisions are practical) and say so in the conformance doc.
"""
import hashlib
import json
from dataclasses import dataclass
from typing import Any

HASH_ALGORITHM = "sha256"


def canonical_json(value: Any) -> str:
    """One serialization per value (sorted keys, no spaces), so the same snapshot always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot(*, schema_name: str, object_id: str | None, object_data: dict, timestamp: str,
             authorized_by_individual: str | None = None, authorized_by_other: str | None = None,
             signed_without_object_id: bool = False) -> str:
    return canonical_json({
        "objectData": object_data,
        "schemaName": schema_name,
        "objectId": "" if signed_without_object_id else object_id,
        "signedWithoutObjectId": signed_without_object_id,
        "timestamp": timestamp,
        "authorizedByIndividual": authorized_by_individual,
        "authorizedByOther": authorized_by_other,
    })


@dataclass(frozen=True)
class Link:
    """What the checks need of one stored revision."""

    id: str
    schema_name: str
    object_id: str
    serialized_snapshot: str
    serialized_hash: str
    predecessor_hash: str | None
    number: int | None = None  # its place in the chain, 1-based
    successor_id: str | None = None


@dataclass(frozen=True)
class Break:
    revision_id: str
    position: int  # 0-based index in the object's chain
    reason: str


def snapshot_data(serialized_snapshot: str) -> dict | None:
    try:
        data = json.loads(serialized_snapshot)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def first_break(links: list[Link]) -> Break | None:
    """The first revision of one object's chain (oldest first) that does not hold, or None if all do."""
    previous: Link | None = None
    for position, link in enumerate(links):
        data = snapshot_data(link.serialized_snapshot)
        if data is None:
            return Break(link.id, position, "the snapshot is not a JSON object")
        if digest(link.serialized_snapshot) != link.serialized_hash:
            return Break(link.id, position, "the snapshot does not match its hash")
        if data.get("schemaName") != link.schema_name or data.get("objectId") not in (link.object_id, ""):
            return Break(link.id, position, "the snapshot names another object")
        expected_predecessor = previous.serialized_hash if previous else None
        if link.predecessor_hash != expected_predecessor:
            return Break(link.id, position, "the predecessor hash does not match the previous revision")
        if previous is not None and previous.successor_id != link.id:
            return Break(link.id, position, "the previous revision names another successor")
        if link.number != position + 1:
            return Break(link.id, position, "the revision's number is not its place in the chain")
        previous = link
    if previous is not None and previous.successor_id is not None:
        # A deleted tail whose predecessor's forward link was left as it was.
        return Break(previous.id, len(links) - 1, "the latest revision names a successor that is not there")
    return None
