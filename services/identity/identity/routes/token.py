"""POST /oauth/token: authorization code and client credentials, both with private_key_jwt; errors are {error, error_description}."""
import base64
import hashlib
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kernel.db import UnitOfWork
from identity import claims as claim_rules
from identity import client_auth, tokens
from identity.models import OidcClient, Person, ServiceAccount, as_utc, utcnow
from identity.routes.authorize import redeem_code

router = APIRouter(tags=["OIDC"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELD = 8192


def _error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status, headers=_NO_STORE)


class TokenError(Exception):
    def __init__(self, code: str, description: str):
        self.code, self.description = code, description


@router.post("/oauth/token")
async def post_token(request: Request):
    try:
        if "application/json" in request.headers.get("content-type", ""):
            data = await request.json()  # the harness posts JSON as well as forms
        else:
            data = dict(await request.form())
    except Exception:  # undecodable JSON or a broken multipart body is the client's error, not ours
        data = None
    if not isinstance(data, dict) or not data:
        return _error("invalid_payload", "The request has no parameters.")
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    if any(len(v) > MAX_FIELD for v in fields.values()):
        return _error("invalid_request", "A parameter is too long.")
    try:
        body = await run_in_threadpool(_grant, request.app, fields)
    except TokenError as error:
        return _error(error.code, error.description)
    return JSONResponse(body, headers=_NO_STORE)


def _grant(app, fields: dict) -> dict:
    settings = app.state.settings
    grant_type = fields.get("grant_type", "")
    with UnitOfWork(app.state.engine, source=settings.service_name) as uow:
        if grant_type == "authorization_code":
            body = _authorization_code(uow, settings, fields)
        elif grant_type == "client_credentials":
            body = _client_credentials(uow, settings, fields)
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
    if as_utc(transaction.code_expires_at) <= utcnow():
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

    person = uow.session.get(Person, transaction.person_id)
    subject = tokens.pairwise_subject(settings, person_id=person.id, relying_party_id=client.relying_party_id)
    access = tokens.access_token_claims(settings, sub=subject, audience=client.client_id, client_id=client.client_id,
                                        scope=transaction.scope, lifetime=settings.access_token_seconds)
    access_token = tokens.sign(uow.session, settings, access, typ="at+jwt")
    auth_time = int(as_utc(transaction.auth_time).timestamp())
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


def _client_credentials(uow, settings, fields: dict) -> dict:
    _check_assertion_fields(fields)
    claimed = tokens.unverified_claims(fields["client_assertion"]) or {}
    client_id = fields.get("client_id") or claimed.get("iss") or ""
    account = uow.session.get(ServiceAccount, client_id) if isinstance(client_id, str) and 0 < len(client_id) <= 100 else None
    if account is None or account.status != "active":
        raise TokenError("invalid_assertion", "Unknown or inactive service account.")
    _authenticate(uow, settings, account.client_id, account.public_key, fields["client_assertion"])
    requested = fields.get("scope", "").split()
    if any(scope not in account.scopes for scope in requested):
        raise TokenError("invalid_scope", "A requested scope is not granted to this service account.")
    scopes = requested or list(account.scopes)
    audience = fields.get("audience") or fields.get("resource") or settings.issuer
    claims = tokens.access_token_claims(settings, sub=account.client_id, audience=audience, client_id=account.client_id,
                                        scope=" ".join(scopes), lifetime=settings.access_token_seconds, roles=list(account.roles))
    return {"access_token": tokens.sign(uow.session, settings, claims, typ="at+jwt"), "token_type": "Bearer",
            "expires_in": settings.access_token_seconds, "scope": " ".join(scopes)}
