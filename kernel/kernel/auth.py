"""OIDC bearer tokens checked against trusted issuers' discovery + JWKS, exposed as FastAPI dependencies."""
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends, Request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kernel.errors import ApiError
from kernel.httpclient import new_client

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
_MIN_REFRESH_SECONDS = 10.0  # an unknown kid triggers a refresh, but not a flood of them


@dataclass(frozen=True)
class Caller:
    subject: str
    issuer: str
    client_id: str | None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    claims: dict = field(default_factory=dict, compare=False, hash=False)

    def has_any_role(self, roles) -> bool:
        return bool(self.roles & set(roles))

    def has_any_scope(self, scopes) -> bool:
        return bool(self.scopes & set(scopes))


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class _IssuerKeys:
    def __init__(self, issuer: str, ttl: float, min_refresh: float):
        self.issuer, self.ttl, self.min_refresh = issuer, ttl, min_refresh
        self.keys: KeySet | None = None
        self.fetched_at = 0.0
        self.lock = threading.Lock()

    def get(self, kid: str | None, http: httpx.Client) -> KeySet:
        with self.lock:
            age = time.monotonic() - self.fetched_at
            stale = self.keys is None or age > self.ttl
            # Key rotation: a kid we have not seen yet means the issuer published a new key.
            unknown = kid is not None and self.keys is not None and not any(k.kid == kid for k in self.keys.keys)
            if stale or (unknown and age > self.min_refresh):
                self.keys = self._fetch(http)
                self.fetched_at = time.monotonic()
            return self.keys

    def _fetch(self, http: httpx.Client) -> KeySet:
        discovery = http.get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        discovery.raise_for_status()
        jwks = http.get(discovery.json()["jwks_uri"])
        jwks.raise_for_status()
        # Only public signing keys; a published entry we cannot parse must not block the others.
        keys = []
        for entry in jwks.json().get("keys", []):
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys.append(KeySet.import_key_set({"keys": [{k: v for k, v in entry.items() if k in _JWK_FIELDS}]}).keys[0])
            except Exception:
                log.warning("skipping a JWKS entry that could not be parsed from %s", self.issuer)
        return KeySet(keys)


_JWK_FIELDS = {"kty", "kid", "use", "alg", "n", "e", "crv", "x", "y"}


class TokenVerifier:
    def __init__(self, *, issuers: list[str], audiences: list[str], jwks_cache_seconds: int = 300, leeway: int = 30,
                 min_refresh_seconds: float = _MIN_REFRESH_SECONDS):
        self.issuers = {issuer.rstrip("/"): _IssuerKeys(issuer, jwks_cache_seconds, min_refresh_seconds) for issuer in issuers}
        self.audiences = audiences
        self.leeway = leeway
        self.http = new_client(timeout=5.0)

    def verify(self, token: str) -> Caller:
        try:
            compact = jws.extract_compact(token.encode())
            header = compact.headers()
            unverified = json.loads(compact.payload)
        except Exception:  # RecursionError on deeply nested payloads included
            raise _unauthorized("The bearer token is not a well-formed JWT.")
        if not isinstance(unverified, dict):  # `[1]`, `"x"` or `null` are JSON, but not a claims set
            raise _unauthorized("The bearer token is not a well-formed JWT.")
        issuer = str(unverified.get("iss", "")).rstrip("/")
        if issuer not in self.issuers:
            raise _unauthorized("The token's issuer is not trusted.")
        if header.get("alg") not in ALGORITHMS:
            raise _unauthorized("The token's signing algorithm is not accepted.")
        try:
            keys = self.issuers[issuer].get(header.get("kid"), self.http)
        except (httpx.HTTPError, KeyError, ValueError):
            log.warning("could not fetch signing keys of issuer %s", issuer)
            raise ApiError(503, "issuer_unavailable", "The token issuer's keys cannot be fetched right now.")
        try:
            claims = jwt.decode(token, keys, algorithms=ALGORITHMS).claims
            jwt.JWTClaimsRegistry(
                leeway=self.leeway,
                iss={"essential": True, "value": unverified["iss"]},
                aud={"essential": True, "values": self.audiences},
                exp={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise _unauthorized(f"The token was refused: {getattr(exc, 'error', 'invalid')}.")
        return caller_from_claims(claims)


def caller_from_claims(claims: dict) -> Caller:
    roles = set(claims.get("roles") or [])
    roles |= set((claims.get("realm_access") or {}).get("roles") or [])  # Keycloak puts realm roles here
    scope = claims.get("scope") or claims.get("scp") or ""
    scopes = set(scope.split() if isinstance(scope, str) else scope)
    return Caller(
        subject=str(claims.get("sub", "")),
        issuer=str(claims.get("iss", "")),
        client_id=claims.get("client_id") or claims.get("azp"),
        roles=frozenset(roles),
        scopes=frozenset(scopes),
        claims=claims,
    )


def bearer_token(request: Request) -> str | None:
    return bearer_token_of(request.headers.get("authorization", ""))


def bearer_token_of(authorization: str) -> str | None:
    """The token of an Authorization header value, if it is a Bearer one."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticated(request: Request) -> Caller:
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    caller = request.app.state.verifier.verify(token)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(authenticated)]


def require(*, roles: tuple[str, ...] = (), scopes: tuple[str, ...] = ()):
    """A dependency that lets through callers holding any of the roles or any of the scopes."""

    def check(caller: CallerDep) -> Caller:
        if (roles and caller.has_any_role(roles)) or (scopes and caller.has_any_scope(scopes)):
            return caller
        raise ApiError(403, "forbidden", "The token does not grant this operation.")

    return Depends(check)
