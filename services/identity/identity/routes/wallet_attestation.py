"""POST /wallet-binding/attestation (our extension): proof for another building block that a wallet key belongs to the
person behind an access token.

The certificate from /wallet-binding names the walletUserId, pairwise per wallet partner, while a relying party knows the
person by a subject pairwise per relying party: it cannot tell from the certificate whether the key is its user's. Here
the person's own access token (any client's) asks, with the certificate or the public JWK; when that person bound the key
and the binding has not expired, the answer is a short-lived JWT signed with the OIDC signing key (`typ`
key-binding+jwt): `sub` and `aud` as in the token, `cnf.jkt` the key's RFC 7638 thumbprint (RFC 7800 confirmation).
The Consent BB checks it against this provider's JWKS, so it stays stateless.
"""
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from kernel.auth import bearer_token
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import tokens, wallet
from identity.models import AuthTransaction, OidcClient, Person
from identity.routes.linked_authorization import iso_time
from identity.schemas import envelope

router = APIRouter(tags=["Wallet - QR Code"])


class AttestationRequest(BaseModel):
    certificate: str | None = Field(None, max_length=20000, description="The PEM certificate /wallet-binding returned.")
    publicKey: dict[str, Any] | None = Field(None, description="Or the bound public key as a JWK.")


def _invalid_token(message: str) -> ApiError:
    return ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})


def _person_access(request: Request, uow: UowDep) -> tuple[dict, str, str]:
    """The claims of a person's own access token from this provider, the person's id and the token's client (checked as
    userinfo checks them)."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "invalid_token", "A bearer access token is required.", headers={"WWW-Authenticate": "Bearer"})
    access = tokens.verify_own(uow.session, request.app.state.settings, token)
    # Only access tokens are recorded by their jti: ID tokens, attestations and service tokens are not found.
    transaction = access and uow.session.exec(select(AuthTransaction).where(AuthTransaction.access_token_jti == access["jti"])).first()
    if not transaction or transaction.revoked or transaction.person_id is None:
        raise _invalid_token("The access token was not recognised.")
    client = uow.session.get(OidcClient, transaction.client_id)
    person = uow.session.get(Person, transaction.person_id)
    if client is None or client.status != "active" or person is None or person.status != "active":
        raise _invalid_token("The access token is no longer valid.")
    return access, person.id, client.client_id


# A dependency, so that the token is checked before the body is validated.
PersonAccess = Annotated[tuple[dict, str, str], Depends(_person_access)]


@router.post("/wallet-binding/attestation", responses={
    401: {"description": "No, or no valid, access token of a person"},
    400: {"description": "Neither (or both) of certificate and publicKey, or not a usable key"},
    403: {"description": "The key is not bound to the token's person, or its binding expired"}})
def attest_wallet_key(http_request: Request, response: Response, uow: UowDep, person_access: PersonAccess, body: AttestationRequest) -> dict:
    """Attest that the wallet key belongs to the person behind the bearer token (a signed `key-binding+jwt`)."""
    access, person_id, client_id = person_access
    if (body.certificate is None) == (body.publicKey is None):
        raise ApiError(400, "invalid_request", "Send either certificate or publicKey.")
    try:
        key = wallet.key_of_certificate(body.certificate) if body.certificate is not None else wallet.parse_public_key(body.publicKey)
    except wallet.InvalidKey as invalid:
        raise ApiError(400, "invalid_public_key", str(invalid))
    bindings = wallet.bindings_of(uow.session, person_id=person_id, thumbprint=key.thumbprint)
    binding = wallet.current(bindings)
    if binding is None:
        # One answer for a key nobody bound and a key another person bound: no oracle of whose key is whose.
        raise ApiError(403, "binding_expired" if bindings else "key_not_bound",
                       "The wallet binding of this key has expired; bind the key again." if bindings
                       else "This key is not bound to the person of the access token.")
    attestation, expires = wallet.attest(uow.session, http_request.app.state.settings, binding=binding, subject=access["sub"],
                                         audience=client_id)
    response.headers["Cache-Control"] = "no-store"
    return envelope({"keyBindingAttestation": attestation,
                     "expireDateTime": iso_time(datetime.fromtimestamp(expires, timezone.utc))})
