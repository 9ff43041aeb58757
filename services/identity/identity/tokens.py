"""Tokens this provider issues: signed JWTs, pairwise subjects, and checks of its own access tokens."""
import base64
import hashlib
import hmac
import time
import uuid

from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key
from sqlmodel import Session

from identity import keys
from identity.settings import IdentitySettings
from kernel import safejson


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(session: Session, settings: IdentitySettings, claims: dict, *, typ: str = "JWT") -> str:
    key = keys.signing_key(session, settings)
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": typ}, claims, key)


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: left half of the SHA-256 of the access token (RS256)."""
    return _b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def pairwise_subject(settings: IdentitySettings, *, person_id: str, relying_party_id: str) -> str:
    """A per-relying-party subject (PSUT): two relying parties cannot link the same person by `sub`."""
    secret = keys.derive_secret(settings.key_encryption_secret, "identity pairwise subject")
    return _b64url(hmac.new(secret, f"{relying_party_id}\x00{person_id}".encode(), hashlib.sha256).digest())


def new_jti() -> str:
    return uuid.uuid4().hex


def access_token_claims(settings: IdentitySettings, *, sub: str, audience, client_id: str, scope: str, lifetime: int, **extra) -> dict:
    now = int(time.time())
    return {"iss": settings.issuer, "sub": sub, "aud": audience, "client_id": client_id, "scope": scope,
            "iat": now, "nbf": now, "exp": now + lifetime, "jti": new_jti(), **extra}


def verify_own(session: Session, settings: IdentitySettings, token: str) -> dict | None:
    """Claims of a token this provider signed and that is still valid, or None."""
    try:
        claims = jwt.decode(token, KeySet(keys.public_keys(session, settings)), algorithms=["RS256"]).claims
        jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": settings.issuer}, exp={"essential": True},
                              jti={"essential": True}).validate(claims)
    except (JoseError, ValueError, TypeError):
        return None
    return claims


def encrypt_for(client_key: dict, payload: str) -> str:
    """Nest a signed JWT in a JWE for the client's registered encryption key (RSA-OAEP-256 / A256GCM)."""
    key = import_key(client_key)
    alg = "RSA-OAEP-256" if key.key_type == "RSA" else "ECDH-ES+A256KW"
    header = {"alg": alg, "enc": "A256GCM", "cty": "JWT", "typ": "JWT"}
    if client_key.get("kid"):
        header["kid"] = client_key["kid"]
    return jwe.encrypt_compact(header, payload.encode(), key, algorithms=[alg, "A256GCM"])


def unverified_claims(token: str) -> dict | None:
    """Claims read before the signature is checked (to find which key to check with); never trusted as such."""
    try:
        payload = token.split(".")[1]
        claims = safejson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None  # `[1]` or `"x"` is JSON, not a claims set
