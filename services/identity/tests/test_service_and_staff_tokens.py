from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session

from kernel.auth import TokenVerifier
from kernel.errors import ApiError
from identity import service_accounts, staff
from .helpers import ASSERTION_TYPE, assertion, new_key, unique


@pytest.fixture(scope="module")
def service_account(engine):
    key = new_key()
    client_id = unique("svc-registration")
    with Session(engine) as session:
        service_accounts.upsert(session, client_id=client_id, name="Registration BB", public_key=key.as_dict(private=False),
                                scopes=["add_oidc_client", "messaging.send"], roles=["service"])
        session.commit()
    return {"client_id": client_id, "key": key}


def _client_credentials(base_url, account, **extra):
    return httpx.post(f"{base_url}/oauth/token", data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(account["key"], account["client_id"], f"{base_url}/oauth/token"), **extra})


def test_client_credentials_token_is_accepted_by_another_service(base_url, settings, service_account):
    response = _client_credentials(base_url, service_account, audience="messaging", scope="messaging.send")
    verifier = TokenVerifier(issuers=[settings.public_url], audiences=["messaging"])

    caller = verifier.verify(response.json()["access_token"])

    assert response.status_code == 200
    assert caller.client_id == service_account["client_id"]
    assert caller.scopes == {"messaging.send"} and caller.roles == {"service"}


def test_client_credentials_token_for_another_audience_is_refused(base_url, settings, service_account):
    token = _client_credentials(base_url, service_account, audience="consent").json()["access_token"]

    with pytest.raises(ApiError) as refused:
        TokenVerifier(issuers=[settings.public_url], audiences=["messaging"]).verify(token)

    assert refused.value.status == 401


def test_scope_not_granted_to_the_account_is_refused(base_url, service_account):
    response = _client_credentials(base_url, service_account, scope="wallet_binding")

    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_identity_accepts_its_own_service_token_for_client_management(base_url, service_account):
    token = _client_credentials(base_url, service_account, audience="identity", scope="add_oidc_client").json()["access_token"]

    response = httpx.post(f"{base_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {token}"},
                          json={"requestTime": "2026-01-01T00:00:00.000Z", "request": {}})

    assert response.status_code == 200  # authorised; the empty request is then refused as a business error
    assert response.json()["errors"][0]["errorCode"] == "invalid_client_id"


@pytest.fixture(scope="module")
def staff_member(engine):
    username = unique("operator")
    with Session(engine) as session:
        staff.create_local(session, username=username, password="correct horse battery", roles=["operator", "auditor"])
        session.commit()
    return username


def test_staff_token_with_roles_is_accepted_by_another_service(base_url, settings, staff_member):
    response = httpx.post(f"{base_url}/staff/token", json={"username": staff_member, "password": "correct horse battery"})
    verifier = TokenVerifier(issuers=[settings.public_url], audiences=["registration"])

    caller = verifier.verify(response.json()["access_token"])

    assert caller.roles == {"operator", "auditor"}


def test_staff_wrong_password_is_refused_then_locked(base_url, engine, settings):
    username = unique("designer")
    with Session(engine) as session:
        staff.create_local(session, username=username, password="a long staff password", roles=["designer"])
        session.commit()

    statuses = [httpx.post(f"{base_url}/staff/token", json={"username": username, "password": "wrong"}).status_code
                for _ in range(settings.max_failed_attempts)]
    right = httpx.post(f"{base_url}/staff/token", json={"username": username, "password": "a long staff password"})

    assert statuses == [401] * (settings.max_failed_attempts - 1) + [429]
    assert right.status_code == 429


def test_concurrent_wrong_passwords_cannot_outrun_the_lockout(base_url, engine, settings):
    username = unique("designer")
    with Session(engine) as session:
        staff.create_local(session, username=username, password="a long staff password", roles=["designer"])
        session.commit()

    def attempt(_):
        return httpx.post(f"{base_url}/staff/token", json={"username": username, "password": "wrong"}, timeout=30).status_code
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    right = httpx.post(f"{base_url}/staff/token", json={"username": username, "password": "a long staff password"})

    assert statuses.count(401) == settings.max_failed_attempts - 1, statuses  # each failure counted, none lost to a race
    assert right.status_code == 429

def test_staff_command_creates_a_local_account(base_url, settings, monkeypatch):
    username = unique("admin")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STAFF_PASSWORD", "another long password")
    monkeypatch.setenv("KEYCLOAK_URL", "")

    exit_code = staff.main(["create", "--username", username, "--role", "admin"])
    response = httpx.post(f"{base_url}/staff/token", json={"username": username, "password": "another long password"})

    assert exit_code == 0
    assert TokenVerifier(issuers=[settings.public_url], audiences=["identity"]).verify(response.json()["access_token"]).roles == {"admin"}


def test_staff_command_refuses_an_unsafe_role_name():
    with pytest.raises(SystemExit):
        staff.main(["create", "--username", "x", "--role", "Super User"])
