"""Service accounts for the client-credentials grant (one per calling service), and what the grant knows of them."""
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import String, bindparam, cast, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kernel.db import read_one
from identity.clients import public_jwk
from identity.models import ServiceAccount, UsedAssertion


def upsert(session: Session, *, client_id: str, name: str, public_key: dict, scopes: list[str], roles: list[str]) -> ServiceAccount:
    """Create or update by client_id; the key must be a public RSA/EC JWK (raises clients.Invalid otherwise)."""
    key = public_jwk(public_key)
    account = session.get(ServiceAccount, client_id) or ServiceAccount(client_id=client_id, name=name, public_key=key)
    account.name, account.public_key, account.scopes, account.roles = name, key, list(scopes), list(roles)
    session.add(account)
    return account


@dataclass(frozen=True)
class Snapshot:
    """An active account as last read, its JSON columns as stored text (compared as such when the account is confirmed)."""

    client_id: str
    public_key_json: str
    scopes_json: str
    roles_json: str
    scopes: list = field(compare=False)
    roles: list = field(compare=False)


_ACCOUNTS = ServiceAccount.__table__
_STORED = (cast(_ACCOUNTS.c.public_key, String), cast(_ACCOUNTS.c.scopes, String), cast(_ACCOUNTS.c.roles, String))
_READ = select(*_STORED).where(_ACCOUNTS.c.client_id == bindparam("client_id"), _ACCOUNTS.c.status == "active")
# The jti is recorded only while the account is still active with exactly the snapshot's key, scopes and roles: one
# statement both confirms the cached account and spends the assertion.
_SPEND_IF_UNCHANGED = insert(UsedAssertion.__table__).from_select(
    ["client_id", "jti", "expires_at"],
    select(_ACCOUNTS.c.client_id, bindparam("jti", type_=String), bindparam("expires_at", type_=UsedAssertion.__table__.c.expires_at.type))
    .where(_ACCOUNTS.c.client_id == bindparam("client_id"), _ACCOUNTS.c.status == "active", _STORED[0] == bindparam("public_key"),
           _STORED[1] == bindparam("scopes"), _STORED[2] == bindparam("roles")),
).returning(UsedAssertion.__table__.c.jti)  # a returned row says it was recorded (rowcount is not kept for INSERT ... SELECT)
_snapshots: dict[tuple[str, str], Snapshot] = {}  # (database, client_id) -> the active account as last read


def cached(engine: Engine, client_id: str) -> Snapshot | None:
    return _snapshots.get((str(engine.url), client_id))


def read(engine: Engine, client_id: str) -> Snapshot | None:
    """The active account from the database (and into the cache), or None."""
    row = read_one(engine, _READ, {"client_id": client_id})
    if row is None:
        _snapshots.pop((str(engine.url), client_id), None)
        return None
    snapshot = Snapshot(client_id, *row, scopes=json.loads(row[1]), roles=json.loads(row[2]))
    _snapshots[(str(engine.url), client_id)] = snapshot
    return snapshot


class Replayed(Exception):
    pass


def spend_if_unchanged(engine: Engine, snapshot: Snapshot, *, jti: str, exp: int) -> bool:
    """Record the assertion's jti if the account is unchanged since the snapshot; False if it changed (read it again).
    Raises Replayed for a jti recorded before."""
    parameters = {"client_id": snapshot.client_id, "jti": jti, "expires_at": datetime.fromtimestamp(exp + 60, timezone.utc),
                  "public_key": snapshot.public_key_json, "scopes": snapshot.scopes_json, "roles": snapshot.roles_json}
    try:
        with engine.begin() as connection:
            return connection.execute(_SPEND_IF_UNCHANGED, parameters).first() is not None
    except IntegrityError:  # presented before, or concurrently
        raise Replayed()
