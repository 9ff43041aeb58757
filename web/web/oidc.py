"""Sign-in with an OpenID provider (the Identity BB for citizens; for staff the Identity BB or, in compose, Keycloak):
authorization code + PKCE S256, private_key_jwt client authentication, ID token checks."""
import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, import_key

from web.settings import WebSettings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STATIC_CODE_ACR = "idbb:acr:static-code"
STAFF_ACR = "idbb:acr:staff-password"  # the Identity BB's staff sign-in (Keycloak, in compose, ignores it and asks for a password)


class SignInFailed(Exception):
    pass


@dataclass(frozen=True)
class Provider:
    """An OpenID provider: its issuer (as tokens name it and this server reaches it) and its endpoints."""

    issuer: str
    authorization_endpoint: str  # as browsers reach it
    token_endpoint: str
    acr: str | None  # the acr_values to ask for


def citizen_provider(settings: WebSettings) -> Provider:
    issuer = settings.identity_url.rstrip("/")
    browser = (settings.identity_browser_url or settings.identity_url).rstrip("/")
    return Provider(issuer, browser + "/authorize", issuer + "/oauth/token", STATIC_CODE_ACR)


def staff_provider(http: httpx.Client, settings: WebSettings) -> Provider:
    """The Identity BB's staff login, or the provider STAFF_ISSUER_URL names, with its endpoints from discovery."""
    if not settings.staff_issuer_url:
        return replace(citizen_provider(settings), acr=STAFF_ACR)
    issuer = settings.staff_issuer_url.rstrip("/")
    try:
        discovery = http.get(issuer + "/.well-known/openid-configuration").json()
        authorization, token = str(discovery["authorization_endpoint"]), str(discovery["token_endpoint"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise SignInFailed(f"staff issuer discovery failed: {type(exc).__name__}")
    browser = settings.staff_issuer_browser_url.rstrip("/")
    if browser and authorization.startswith(issuer):
        authorization = browser + authorization[len(issuer):]
    return Provider(issuer, authorization, token, None)  # another provider's factors are its own business


def new_pkce_verifier() -> str:
    return secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128


def pkce_challenge(verifier: str) -> str:
    # RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding.
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def redirect_uri(settings: WebSettings) -> str:
    return settings.public_url.rstrip("/") + "/auth/callback"


def authorize_url(settings: WebSettings, *, state: str, nonce: str, verifier: str, lang: str, provider: Provider | None = None) -> str:
    provider = provider or citizen_provider(settings)
    query = {"response_type": "code", "client_id": settings.portal_client_id, "redirect_uri": redirect_uri(settings), "scope": "openid",
             "state": state, "nonce": nonce, "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
             "acr_values": provider.acr, "ui_locales": lang}
    return f"{provider.authorization_endpoint}?{urlencode({k: v for k, v in query.items() if v is not None})}"


def client_assertion(settings: WebSettings, audience: str) -> str:
    """RFC 7523 assertion: iss = sub = our client id, aud = the token endpoint, short-lived, single-use jti."""
    key = import_key(json.loads(settings.portal_client_jwk))
    now = int(time.time())
    claims = {"iss": settings.portal_client_id, "sub": settings.portal_client_id, "aud": audience,
              "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
    return jwt.encode({"alg": "RS256", "kid": key.kid} if key.kid else {"alg": "RS256"}, claims, key)


def exchange_code(http: httpx.Client, settings: WebSettings, *, code: str, verifier: str, nonce: str, provider: Provider | None = None) -> dict:
    """Tokens for the code, after checking the ID token's signature, issuer, audience and nonce."""
    provider = provider or citizen_provider(settings)
    response = http.post(provider.token_endpoint, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(settings), "client_id": settings.portal_client_id,
        "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(settings, provider.token_endpoint)})
    if response.status_code != 200:
        raise SignInFailed(f"token endpoint answered {response.status_code}")
    tokens = response.json()
    if not isinstance(tokens, dict) or not tokens.get("access_token") or not tokens.get("id_token"):
        raise SignInFailed("token response without tokens")
    tokens["id_claims"] = verify_id_token(http, settings, tokens["id_token"], nonce=nonce, issuer=provider.issuer)
    return tokens


def verify_id_token(http: httpx.Client, settings: WebSettings, id_token: str, *, nonce: str, issuer: str) -> dict:
    try:
        discovery = http.get(issuer + "/.well-known/openid-configuration").json()
        keys = KeySet.import_key_set(http.get(discovery["jwks_uri"]).json())
        claims = jwt.decode(id_token, keys, algorithms=["RS256", "PS256", "ES256"]).claims
        jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": issuer}, aud={"essential": True, "value": settings.portal_client_id},
                              sub={"essential": True}, exp={"essential": True}, nonce={"essential": True, "value": nonce}).validate(claims)
    except (JoseError, ValueError, KeyError, TypeError, httpx.HTTPError) as exc:
        raise SignInFailed(f"ID token refused: {type(exc).__name__}")
    return claims
