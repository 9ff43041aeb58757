"""private_key_jwt client authentication (RFC 7523): the assertion is checked against the client's registered key."""
import json
import time
from datetime import datetime, timezone
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from identity.models import UsedAssertion
from identity.settings import IdentitySettings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256", "ES256"]
_SPEND = insert(UsedAssertion.__table__)


class Refused(Exception):
    pass


@lru_cache(maxsize=1024)
def _key_set(public_key_json: str) -> KeySet:
    """The registered key, parsed once per distinct JWK (parsing cost more than checking the signature)."""
    return KeySet([import_key(json.loads(public_key_json))])


def key_json(public_key: dict) -> str:
    return json.dumps(public_key, sort_keys=True)


def check(settings: IdentitySettings, *, client_id: str, assertion: str, public_key_json: str) -> tuple[str, int]:
    """Signature, iss = sub = client_id, aud = our token endpoint (or issuer), exp/iat sane; returns (jti, exp) to spend."""
    try:
        claims = jwt.decode(assertion, _key_set(public_key_json), algorithms=ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": client_id},
            sub={"essential": True, "value": client_id},
            aud={"essential": True, "values": [settings.token_endpoint, settings.issuer]},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError, KeyError, RecursionError):  # RecursionError: a signed, deeply nested payload
        raise Refused("The client assertion is not valid.")
    exp = claims["exp"]
    if not isinstance(exp, int) or exp - time.time() > settings.client_assertion_max_seconds:
        raise Refused("The client assertion lives too long.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255 or "\x00" in jti:
        raise Refused("The client assertion needs a jti.")
    return jti, exp


def spend(connection: Connection, *, client_id: str, jti: str, exp: int) -> None:
    """Record the assertion's jti; the primary key refuses one seen before (no lookup first: one statement per grant)."""
    try:
        connection.execute(_SPEND, {"client_id": client_id, "jti": jti, "expires_at": datetime.fromtimestamp(exp + 60, timezone.utc)})
    except IntegrityError:  # presented before, or concurrently
        raise Refused("The client assertion was already used.")


def verify(uow, settings: IdentitySettings, *, client_id: str, assertion: str, public_key: dict) -> None:
    """check() then spend() inside the unit of work's transaction (the authorization-code grant)."""
    jti, exp = check(settings, client_id=client_id, assertion=assertion, public_key_json=key_json(public_key))
    spend(uow.session.connection(), client_id=client_id, jti=jti, exp=exp)
