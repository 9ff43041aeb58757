"""API keys managed by administrators: created once-visible, stored hashed, revocable."""
import hashlib

import httpx
import pytest
from sqlmodel import Session

from messaging.models import ApiKey
from .helpers import address, email_body, unique


def bearer(oidc_issuer, roles=("admin",), audience="messaging") -> dict:
    return {"Authorization": f"Bearer {oidc_issuer.token(sub=unique('staff'), audience=audience, roles=list(roles))}"}


def create_key(base_url, oidc_issuer, **body) -> dict:
    response = httpx.post(f"{base_url}/admin/api-keys", json={"name": unique("app"), **body}, headers=bearer(oidc_issuer))
    assert response.status_code == 201, response.text
    return response.json()


def test_created_key_is_shown_once_and_stored_only_as_its_hash(base_url, oidc_issuer, engine):
    created = create_key(base_url, oidc_issuer)

    with Session(engine) as session:
        stored = session.get(ApiKey, created["id"])
    assert stored.key_hash == hashlib.sha256(created["apiKey"].encode()).hexdigest()
    assert len(created["apiKey"]) >= 40
    listed = httpx.get(f"{base_url}/admin/api-keys", headers=bearer(oidc_issuer)).json()
    [entry] = [key for key in listed if key["id"] == created["id"]]
    assert "apiKey" not in entry and stored.key_hash not in str(listed)


def test_created_key_can_send(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer)

    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": created["apiKey"]})

    assert response.status_code == 200


def test_revoked_key_can_no_longer_send(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer)

    revoked = httpx.delete(f"{base_url}/admin/api-keys/{created['id']}", headers=bearer(oidc_issuer))

    assert revoked.status_code == 204
    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": created["apiKey"]})
    assert response.status_code == 405


def test_only_keys_allowed_emergency_may_send_emergency(base_url, oidc_issuer):
    routine, emergency = create_key(base_url, oidc_issuer), create_key(base_url, oidc_issuer, emergencyAllowed=True)
    body = email_body(address(), priority="emergency")

    assert httpx.post(f"{base_url}/send/email/single", json=body, headers={"api_key": routine["apiKey"]}).status_code == 405
    assert httpx.post(f"{base_url}/send/email/single", json=body, headers={"api_key": emergency["apiKey"]}).status_code == 200


def test_without_a_token_key_management_is_refused(base_url):
    response = httpx.post(f"{base_url}/admin/api-keys", json={"name": "x"})

    assert response.status_code == 401


@pytest.mark.parametrize("case", ["no admin role", "other audience"])
def test_a_token_without_admin_rights_is_refused(base_url, oidc_issuer, case):
    headers = bearer(oidc_issuer, roles=("registrar",)) if case == "no admin role" else bearer(oidc_issuer, audience="consent")

    response = httpx.post(f"{base_url}/admin/api-keys", json={"name": "x"}, headers=headers)

    assert response.status_code == (403 if case == "no admin role" else 401)


def test_revoking_an_unknown_key_is_404(base_url, oidc_issuer):
    assert httpx.delete(f"{base_url}/admin/api-keys/{unique()}", headers=bearer(oidc_issuer)).status_code == 404


def test_invalid_key_request_is_400(base_url, oidc_issuer):
    response = httpx.post(f"{base_url}/admin/api-keys", json={"name": ""}, headers=bearer(oidc_issuer))

    assert response.status_code == 400
