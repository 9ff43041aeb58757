"""POST /oauth/token: authorization code and client credentials, both with private_key_jwt; errors are {error, error_description}."""
import base64
import hashlib
import secrets
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from kernel import safejson
from kernel.db import UnitOfWork
from identity import claims as claim_rules
from identity import client_auth, service_accounts, tokens
from identity.models import OidcClient, Person, StaffAccount, utcnow
from identity.routes.authorize import redeem_code

router = APIRouter(tags=["OIDC"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELD = 8192
MAX_BODY = 65536


def _error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status, headers=_NO_STORE)


class TokenError(Exception):
    def __init__(self, code: str, description: str):
        self.code, self.description = code, description


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The request body, refused beyond MAX_BODY (this endpoint is also served ahead of the app's body limits)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _parameters(request: Request, body: bytes):
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        return safejson.loads(body)  # the harness posts JSON as well as forms; NUL and lone surrogates refused
    if content_type.startswith("application/x-www-form-urlencoded"):
        # Parsed here rather than by request.form(): python-multipart cost as much as the grant's SQL (profile).
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=50))

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    return dict(await Request(request.scope, replay).form())


@router.post("/oauth/token")
async def post_token(request: Request):
    """Also served ahead of the middleware stack when no traces are exported (app.py): it checks its own input."""
    try:
        data = await _parameters(request, await _body(request))
    except _TooLarge:
        return _error("invalid_request", "The request is too large.", status=413)
    except Exception:  # undecodable JSON or a broken multipart body is the client's error, not ours
        data = None
    if not isinstance(data, dict) or not data:
        return _error("invalid_payload", "The request has no parameters.")
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    if any(len(v) > MAX_FIELD for v in fields.values()):
        return _error("invalid_request", "A parameter is too long.")
    if any("\x00" in v for v in fields.values()):  # the database refuses NUL, and nothing valid contains one
        return _error("invalid_request", "A parameter contains a NUL character.")
    try:
        body = await run_in_threadpool(_grant, request.app, fields)
    except TokenError as error:
        return _error(error.code, error.description)
    return JSONResponse(body, headers=_NO_STORE)


def _grant(app, fields: dict) -> dict:
    settings = app.state.settings
    grant_type = fields.get("grant_type", "")
    if grant_type == "client_credentials":
        return _client_credentials(app, settings, fields)
    with UnitOfWork(app.state.engine, source=settings.service_name) as uow:
        if grant_type == "authorization_code":
            body = _authorization_code(uow, settings, fields)
        elif not grant_type:
            raise TokenError("invalid_input", "grant_type is required.")
        else:
            raise TokenError("unsupported_grant_type", "Only authorization_code and client_credentials are supported.")
        uow.commit()
        return body


def _check_assertion_fields(fields: dict) -> None:
    if fields.get("client_assertion_type") != client_auth.ASSERTION_TYPE:
        raise TokenError("invalid_assertion_type", "client_assertion_type must be the jwt-bearer URN.")
    if not fields.get("client_assertion"):
        raise TokenError("invalid_assertion", "client_assertion is required.")


def _authenticate(uow, settings, client_id: str, public_key: dict, assertion: str) -> None:
    try:
        client_auth.verify(uow, settings, client_id=client_id, assertion=assertion, public_key=public_key)
    except client_auth.Refused as refused:
        raise TokenError("invalid_assertion", str(refused))


def _authorization_code(uow, settings, fields: dict) -> dict:
    code, client_id = fields.get("code", ""), fields.get("client_id", "")
    if not code or not client_id:
        raise TokenError("invalid_input", "code and client_id are required.")
    if not fields.get("redirect_uri"):
        raise TokenError("invalid_redirect_uri", "redirect_uri is required.")
    _check_assertion_fields(fields)
    client = uow.session.get(OidcClient, client_id) if len(client_id) <= 50 else None
    if client is None or client.status != "active":
        raise TokenError("invalid_assertion", "Unknown or inactive client.")
    _authenticate(uow, settings, client.client_id, client.public_key, fields["client_assertion"])
    uow.commit()  # the assertion's jti is spent even if the code turns out bad

    transaction = redeem_code(uow, code)
    if transaction is None or transaction.client_id != client.client_id or transaction.revoked:
        raise TokenError("invalid_transaction", "The code is unknown, expired or already used.")
    if transaction.code_expires_at <= utcnow():
        raise TokenError("invalid_transaction", "The code is unknown, expired or already used.")
    if fields["redirect_uri"] != transaction.redirect_uri:
        raise TokenError("invalid_redirect_uri", "redirect_uri differs from the one sent to /authorize.")
    if transaction.code_challenge:
        verifier = fields.get("code_verifier", "")
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(expected, transaction.code_challenge):
            raise TokenError("invalid_grant", "The PKCE code_verifier does not match the code_challenge.")
    elif fields.get("code_verifier"):
        raise TokenError("invalid_request", "code_verifier was sent but /authorize had no code_challenge.")

    if transaction.staff_account_id is not None:
        return _staff_tokens(uow, settings, client, transaction)
    person = uow.session.get(Person, transaction.person_id)
    subject = tokens.pairwise_subject(settings, person_id=person.id, relying_party_id=client.relying_party_id)
    access = tokens.access_token_claims(settings, sub=subject, audience=client.client_id, client_id=client.client_id,
                                        scope=transaction.scope, lifetime=settings.access_token_seconds)
    access_token = tokens.sign(uow.session, settings, access, typ="at+jwt")
    auth_time = int(transaction.auth_time.timestamp())
    id_claims = {"iss": settings.issuer, "sub": subject, "aud": client.client_id, "iat": access["iat"],
                 "exp": access["iat"] + settings.id_token_seconds, "auth_time": auth_time, "acr": transaction.acr,
                 "at_hash": tokens.at_hash(access_token), "azp": client.client_id}
    if transaction.nonce:
        id_claims["nonce"] = transaction.nonce
    in_id_token = [name for name in transaction.id_token_claims if name in transaction.consented_claims]
    id_claims.update(claim_rules.values(person.attributes, in_id_token, transaction.claims_locales))
    id_token = tokens.sign(uow.session, settings, id_claims)
    transaction.access_token_jti = access["jti"]
    uow.session.add(transaction)
    return {"id_token": id_token, "access_token": access_token, "token_type": "Bearer", "expires_in": settings.access_token_seconds}


def _staff_tokens(uow, settings, client: OidcClient, transaction) -> dict:
    """A staff member's tokens: sub = the account id (staff are not pairwise), with their roles and user name."""
    account = uow.session.get(StaffAccount, transaction.staff_account_id)
    if account is None or account.status != "active":
        raise TokenError("invalid_transaction", "The code is unknown, expired or already used.")
    staff_claims = {"roles": list(account.roles), "preferred_username": account.username}
    access = tokens.access_token_claims(settings, sub=account.id, audience=client.client_id, client_id=client.client_id,
                                        scope=transaction.scope, lifetime=settings.access_token_seconds, **staff_claims)
    access_token = tokens.sign(uow.session, settings, access, typ="at+jwt")
    id_claims = {"iss": settings.issuer, "sub": account.id, "aud": client.client_id, "iat": access["iat"],
                 "exp": access["iat"] + settings.id_token_seconds, "auth_time": int(transaction.auth_time.timestamp()),
                 "acr": transaction.acr, "at_hash": tokens.at_hash(access_token), "azp": client.client_id, **staff_claims}
    if transaction.nonce:
        id_claims["nonce"] = transaction.nonce
    transaction.access_token_jti = access["jti"]
    uow.session.add(transaction)
    return {"id_token": tokens.sign(uow.session, settings, id_claims), "access_token": access_token, "token_type": "Bearer",
            "expires_in": settings.access_token_seconds}


def _service_account(engine, settings, client_id: str, assertion: str) -> service_accounts.Snapshot:
    """The active account whose registered key signed the assertion, with the assertion's jti spent.

    The account comes from a cache when it can: the statement that spends the jti also confirms the account is still
    active with the same key, scopes and roles, and when it is not, the account is read again and checked once more.
    """
    snapshot = service_accounts.cached(engine, client_id)
    for account in ([snapshot] if snapshot else []) + [None]:
        account = account or service_accounts.read(engine, client_id)
        if account is None:
            break
        try:
            jti, exp = client_auth.check(settings, client_id=client_id, assertion=assertion, public_key_json=account.public_key_json)
        except client_auth.Refused:
            if account is snapshot:
                continue  # the key may have been replaced since it was cached
            raise
        try:
            if service_accounts.spend_if_unchanged(engine, account, jti=jti, exp=exp):
                return account
        except service_accounts.Replayed:
            raise client_auth.Refused("The client assertion was already used.")
    raise client_auth.Refused("Unknown or inactive service account.")


def _client_credentials(app, settings, fields: dict) -> dict:
    """Service-to-service tokens, the hot path (profiled): one insert in autocommit per grant, no ORM session."""
    _check_assertion_fields(fields)
    claimed = tokens.unverified_claims(fields["client_assertion"]) or {}
    client_id = fields.get("client_id") or claimed.get("iss") or ""
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 100 or "\x00" in client_id:
        raise TokenError("invalid_assertion", "Unknown or inactive service account.")
    try:
        account = _service_account(app.state.autocommit_engine, settings, client_id, fields["client_assertion"])
    except client_auth.Refused as refused:
        raise TokenError("invalid_assertion", str(refused))
    requested = fields.get("scope", "").split()
    if any(scope not in account.scopes for scope in requested):
        raise TokenError("invalid_scope", "A requested scope is not granted to this service account.")
    scopes = requested or list(account.scopes)
    audience = fields.get("audience") or fields.get("resource") or settings.issuer
    claims = tokens.access_token_claims(settings, sub=client_id, audience=audience, client_id=client_id,
                                        scope=" ".join(scopes), lifetime=settings.access_token_seconds, roles=list(account.roles))
    with Session(app.state.engine) as session:  # touches the database only when the cached signing key is due for a re-read
        access_token = tokens.sign(session, settings, claims, typ="at+jwt")
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": settings.access_token_seconds, "scope": " ".join(scopes)}
