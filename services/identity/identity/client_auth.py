"""private_key_jwt client authentication (RFC 7523): the assertion is checked against the client's registered key."""
import time
from datetime import datetime, timezone

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from sqlalchemy.exc import IntegrityError

from identity.models import UsedAssertion
from identity.settings import IdentitySettings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256", "ES256"]


class Refused(Exception):
    pass


def verify(uow, settings: IdentitySettings, *, client_id: str, assertion: str, public_key: dict) -> None:
    """Signature, iss = sub = client_id, aud = our token endpoint (or issuer), exp/iat sane, jti never seen before."""
    try:
        key = import_key(public_key)
        claims = jwt.decode(assertion, KeySet([key]), algorithms=ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": client_id},
            sub={"essential": True, "value": client_id},
            aud={"essential": True, "values": [settings.token_endpoint, settings.issuer]},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError, KeyError):
        raise Refused("The client assertion is not valid.")
    exp = claims["exp"]
    if not isinstance(exp, int) or exp - time.time() > settings.client_assertion_max_seconds:
        raise Refused("The client assertion lives too long.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise Refused("The client assertion needs a jti.")
    # No lookup first: the primary key refuses a jti seen before (one query less on every token request).
    uow.session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=datetime.fromtimestamp(exp + 60, timezone.utc)))
    try:
        uow.session.flush()
    except IntegrityError:  # presented before, or concurrently
        uow.session.rollback()
        raise Refused("The client assertion was already used.")
