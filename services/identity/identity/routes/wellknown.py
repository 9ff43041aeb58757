"""Discovery and the JWKS: public, read by relying parties and by every service's token check."""
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from identity import keys
from identity.claims import SUPPORTED_SCOPES
from identity.clients import ACR_VALUES, USER_CLAIMS

router = APIRouter(tags=["OIDC"])


class Utf8JSONResponse(JSONResponse):
    # GovStack's identity suite compares the discovery document's content type with this exact value.
    media_type = "application/json; charset=utf-8"


@router.get("/.well-known/openid-configuration", response_class=Utf8JSONResponse)
def get_openid_configuration(request: Request) -> dict:
    settings = request.app.state.settings
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": settings.token_endpoint,
        "userinfo_endpoint": issuer + "/oidc/userinfo",
        "jwks_uri": issuer + "/.well-known/jwks.json",
        "registration_endpoint": issuer + "/client-mgmt/oidc-client",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "acr_values_supported": list(ACR_VALUES),
        "claims_supported": ["sub", *USER_CLAIMS],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "claims_locales_supported": ["lo", "en"],
        "ui_locales_supported": ["lo", "en"],
        "display_values_supported": ["page"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "userinfo_encryption_alg_values_supported": ["RSA-OAEP-256", "ECDH-ES+A256KW"],
        "userinfo_encryption_enc_values_supported": ["A256GCM"],
    }


@router.get("/.well-known/jwks.json", response_class=Utf8JSONResponse)
def get_jwks(request: Request) -> dict:
    settings = request.app.state.settings
    with Session(request.app.state.engine) as session:
        return {"keys": [keys.jwk_entry(row, settings) for row in keys.published(session)]}
