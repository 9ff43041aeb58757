"""GET /oidc/userinfo: the consented claims as a signed JWT, nested in a JWE when the client registered an encryption key."""
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select

from kernel.auth import bearer_token
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import claims as claim_rules
from identity import tokens
from identity.models import AuthTransaction, OidcClient, Person

router = APIRouter(tags=["OIDC"])


def _invalid_token(message: str) -> ApiError:
    return ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})


@router.get("/oidc/userinfo")
def get_userinfo(request: Request, uow: UowDep) -> Response:
    settings = request.app.state.settings
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "invalid_token", "A bearer access token is required.", headers={"WWW-Authenticate": "Bearer"})
    access = tokens.verify_own(uow.session, settings, token)
    if access is None:
        raise _invalid_token("The access token was not recognised.")
    transaction = uow.session.exec(select(AuthTransaction).where(AuthTransaction.access_token_jti == access["jti"])).first()
    if transaction is None or transaction.revoked:
        raise _invalid_token("The access token was not recognised.")
    client = uow.session.get(OidcClient, transaction.client_id)
    person = uow.session.get(Person, transaction.person_id) if transaction.person_id else None  # staff tokens have no person
    if client is None or client.status != "active" or person is None or person.status != "active":
        raise _invalid_token("The access token is no longer valid.")
    now = int(time.time())
    body = {"iss": settings.issuer, "aud": client.client_id, "sub": access["sub"], "iat": now,
            **claim_rules.values(person.attributes, transaction.consented_claims, transaction.claims_locales)}
    signed = tokens.sign(uow.session, settings, body)
    if client.encryption_public_key:
        signed = tokens.encrypt_for(client.encryption_public_key, signed)
    return Response(signed, media_type="application/jwt", headers={"Cache-Control": "no-store"})
