"""Bearer tokens against a real issuer's discovery + JWKS, through a real server."""
import base64
import json
import time

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from kernel.auth import CallerDep, TokenVerifier, require
from kernel.errors import install_error_handlers
from kernel.testing import serve


@pytest.fixture(scope="module")
def protected_url(oidc_issuer):
    app = FastAPI()
    app.state.verifier = TokenVerifier(issuers=[oidc_issuer.url], audiences=["registration"], min_refresh_seconds=0)
    install_error_handlers(app)

    @app.get("/tasks", dependencies=[require(roles=("operator",))])
    def tasks() -> list:
        return []

    @app.get("/me")
    def me(caller: CallerDep) -> dict:
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    with serve(app) as url:
        yield url


def get(url, token=None):
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_token_from_trusted_issuer_with_role_is_accepted(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience="registration", roles=["operator"])

    assert get(f"{protected_url}/tasks", token).status_code == 200


def test_keycloak_realm_roles_are_read(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience=["account", "registration"], realm_access={"roles": ["operator"]})

    assert get(f"{protected_url}/tasks", token).status_code == 200


def test_missing_token_is_401_with_challenge(protected_url):
    response = get(f"{protected_url}/tasks")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience="registration", roles=["operator"], expires_in=-120)

    assert get(f"{protected_url}/tasks", token).status_code == 401


def test_wrong_audience_is_401(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience="consent", roles=["operator"])

    assert get(f"{protected_url}/tasks", token).status_code == 401


def test_wrong_role_is_403(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience="registration", roles=["designer"])

    response = get(f"{protected_url}/tasks", token)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_wrong_signature_is_401(protected_url, oidc_issuer):
    impostor = RSAKey.generate_key(2048, parameters={"kid": oidc_issuer.keys[-1].kid})  # same kid, other key
    token = oidc_issuer.token(audience="registration", roles=["operator"], key=impostor)

    assert get(f"{protected_url}/tasks", token).status_code == 401


def test_unsigned_token_is_401(protected_url, oidc_issuer):
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": oidc_issuer.url, "sub": "x", "aud": "registration", "exp": int(time.time()) + 60, "roles": ["operator"]}
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    assert get(f"{protected_url}/tasks", token).status_code == 401


def test_untrusted_issuer_is_401(protected_url, oidc_issuer):
    token = oidc_issuer.token(audience="registration", roles=["operator"], issuer="https://evil.example")

    assert get(f"{protected_url}/tasks", token).status_code == 401


def test_rotated_key_is_picked_up_from_jwks(protected_url, oidc_issuer):
    assert get(f"{protected_url}/me", oidc_issuer.token(audience="registration")).status_code == 200
    oidc_issuer.rotate()

    response = get(f"{protected_url}/me", oidc_issuer.token(audience="registration", sub="citizen-7"))

    assert response.status_code == 200
    assert response.json()["subject"] == "citizen-7"
