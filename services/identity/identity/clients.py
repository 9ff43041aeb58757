"""OIDC client registration rules: the spec's validation order and error codes, then create/update."""
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from joserfc.jwk import import_key
from sqlmodel import Session

from identity.models import OidcClient, utcnow
from identity.schemas import parse_request_time
from identity.ui_text import LANGUAGES

ACR_VALUES = ("idbb:acr:static-code", "idbb:acr:generated-code", "idbb:acr:linked-wallet", "idbb:acr:biometrics",
              "idbb:acr:biometrics-generated-code", "idbb:acr:linked-wallet-static-code")
USER_CLAIMS = ("name", "given_name", "family_name", "middle_name", "preferred_username", "nickname", "gender", "birthdate",
               "email", "email_verified", "phone_number", "phone_number_verified", "picture", "address", "locale", "zoneinfo")
GRANT_TYPES = ("authorization_code",)
AUTH_METHODS = ("private_key_jwt",)
STATUSES = ("active", "inactive")


class Invalid(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _text(value, *, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) and len(value) <= max_length


def _uri(value, *, max_length: int = 1024) -> bool:
    if not _text(value, max_length=max_length):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/cb"
        return False
    # Absolute http(s) URIs only; a fragment is not allowed in a redirection endpoint (RFC 6749 3.1.2).
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment and " " not in value


def _list_of(value, allowed) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(v, str) and v in allowed for v in value)


def public_jwk(value) -> dict:
    """A public RSA or EC key as a JWK object; private parts are refused, not silently dropped."""
    if not isinstance(value, dict) or not value:
        raise Invalid("invalid_public_key", "publicKey must be a JWK object.")
    if any(part in value for part in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise Invalid("invalid_public_key", "publicKey must not contain private key material.")
    try:
        key = import_key(value)
    except Exception:
        raise Invalid("invalid_public_key", "publicKey is not a valid JWK.")
    if key.key_type not in ("RSA", "EC"):
        raise Invalid("invalid_public_key", "publicKey must be an RSA or EC key.")
    if key.key_type == "RSA" and len(key.as_dict()["n"]) * 6 < 2000:
        raise Invalid("invalid_public_key", "RSA keys must be at least 2048 bits.")
    return key.as_dict(private=False) | {k: value[k] for k in ("kid", "use", "alg") if k in value}


NAME_TAG = "clientName#"


def _check_common(request: dict) -> dict[str, str]:
    """Checks clientName and its language-tagged forms; returns the names by language."""
    if not _text(request.get("clientName"), max_length=256):
        raise Invalid("invalid_client_name", "clientName must be 1 to 256 characters.")
    return _names_by_language(request)


def _names_by_language(request: dict) -> dict[str, str]:
    # The spec has one clientName; a name per language follows OpenID Connect's member#language-tag form (RFC 7591 2.2)
    # on this API's own member name: "clientName#lo". Only the languages the pages are shown in are taken, so a name
    # that could never be shown is refused rather than stored.
    names: dict[str, str] = {}
    for key, value in request.items():
        if key.startswith("client_name#"):  # the snake_case spelling would otherwise be ignored without a word
            raise Invalid("invalid_client_name", "Names per language are given as clientName#lo and clientName#en.")
        if not key.startswith(NAME_TAG):
            continue
        language = key[len(NAME_TAG):].lower()  # language tags are case-insensitive (BCP 47)
        if language not in LANGUAGES or language in names:
            raise Invalid("invalid_client_name", f"Names per language are accepted once each, for: {', '.join(LANGUAGES)}.")
        if not _text(value, max_length=256):
            raise Invalid("invalid_client_name", f"clientName#{language} must be 1 to 256 characters.")
        names[language] = value
    return names


def _check_rest(request: dict) -> None:
    if not _uri(request.get("logoUri")):
        raise Invalid("invalid_uri", "logoUri must be an absolute http(s) URI of at most 1024 characters.")


def _check_lists(request: dict, *, require_redirects: bool) -> None:
    redirects = request.get("redirectUris")
    if redirects is not None or require_redirects:
        if not isinstance(redirects, list) or not redirects or not all(_uri(u) for u in redirects) or len(set(redirects)) != len(redirects):
            raise Invalid("invalid_redirect_uri", "redirectUris must be a non-empty list of distinct absolute http(s) URIs without fragments.")
    if not _list_of(request.get("authContextRefs"), ACR_VALUES):
        raise Invalid("invalid_acr", "authContextRefs must be a non-empty list of supported ACR values.")
    if not _list_of(request.get("userClaims"), USER_CLAIMS):
        raise Invalid("invalid_claim", "userClaims must be a non-empty list of supported claims.")
    if not _list_of(request.get("grantTypes"), GRANT_TYPES):
        raise Invalid("invalid_grant_type", "grantTypes must be [\"authorization_code\"].")
    if not _list_of(request.get("clientAuthMethods"), AUTH_METHODS):
        raise Invalid("invalid_client_auth", "clientAuthMethods must be [\"private_key_jwt\"].")


def _request_part(body) -> dict:
    if not isinstance(body, dict):
        raise Invalid("invalid_input", "The body must be a JSON object.")
    if parse_request_time(body.get("requestTime")) is None:
        raise Invalid("invalid_request", "requestTime must be an ISO 8601 date-time.")
    request = body.get("request")
    if not isinstance(request, dict):
        raise Invalid("invalid_input", "request must be an object.")
    return request


@dataclass
class ClientCreate:
    client_id: str
    client_name: str
    client_names: dict
    relying_party_id: str
    logo_uri: str
    redirect_uris: list
    auth_context_refs: list
    public_key: dict
    encryption_public_key: dict | None
    user_claims: list
    grant_types: list
    client_auth_methods: list
    digest: str


def validate_create(body) -> ClientCreate:
    request = _request_part(body)
    if not _text(request.get("clientId"), max_length=50):
        raise Invalid("invalid_client_id", "clientId must be 1 to 50 characters.")
    client_names = _check_common(request)
    if not _text(request.get("relyingPartyId"), max_length=50):
        raise Invalid("invalid_rp_id", "relyingPartyId must be 1 to 50 characters.")
    _check_rest(request)
    public_key = public_jwk(request.get("publicKey"))
    encryption_key = None
    if request.get("encPublicKey") is not None:  # optional: userinfo is then a JWE for this key
        encryption_key = public_jwk(request.get("encPublicKey"))
    _check_lists(request, require_redirects=False)
    return ClientCreate(
        client_id=request["clientId"], client_name=request["clientName"], client_names=client_names,
        relying_party_id=request["relyingPartyId"], logo_uri=request["logoUri"], redirect_uris=list(request.get("redirectUris") or []),
        auth_context_refs=list(dict.fromkeys(request["authContextRefs"])), public_key=public_key,
        encryption_public_key=encryption_key, user_claims=list(dict.fromkeys(request["userClaims"])),
        grant_types=request["grantTypes"], client_auth_methods=list(dict.fromkeys(request["clientAuthMethods"])),
        digest=hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest(),
    )


def create(session: Session, client_in: ClientCreate) -> OidcClient:
    """Register the client; the identical registration again is answered as done (clients retry)."""
    existing = session.get(OidcClient, client_in.client_id)
    if existing is not None:
        if existing.registration_digest == client_in.digest:
            return existing
        raise Invalid("duplicate_client_id", "A client with this clientId already exists.")
    client = OidcClient(
        client_id=client_in.client_id, client_name=client_in.client_name, client_names=client_in.client_names,
        relying_party_id=client_in.relying_party_id,
        logo_uri=client_in.logo_uri, redirect_uris=client_in.redirect_uris, auth_context_refs=client_in.auth_context_refs,
        public_key=client_in.public_key, encryption_public_key=client_in.encryption_public_key, user_claims=client_in.user_claims,
        grant_types=client_in.grant_types, client_auth_methods=client_in.client_auth_methods, registration_digest=client_in.digest,
    )
    session.add(client)
    return client


def update(session: Session, client_id: str, body) -> OidcClient:
    request = _request_part(body)
    client = session.get(OidcClient, client_id) if isinstance(client_id, str) and len(client_id) <= 50 else None
    if client is None:
        raise Invalid("invalid_client_id", "No client with this clientId.")
    client_names = _check_common(request)
    if request.get("status") not in STATUSES:
        raise Invalid("invalid_request", "status must be active or inactive.")
    _check_rest(request)
    _check_lists(request, require_redirects=True)
    client.client_name = request["clientName"]
    client.client_names = client_names  # replaced like every other field: a language left out loses its name
    client.status = request["status"]
    client.logo_uri = request["logoUri"]
    client.redirect_uris = list(request["redirectUris"])
    client.user_claims = list(dict.fromkeys(request["userClaims"]))
    client.auth_context_refs = list(dict.fromkeys(request["authContextRefs"]))
    client.grant_types = list(dict.fromkeys(request["grantTypes"]))
    client.client_auth_methods = list(dict.fromkeys(request["clientAuthMethods"]))
    client.updated_at = utcnow()
    session.add(client)
    return client
