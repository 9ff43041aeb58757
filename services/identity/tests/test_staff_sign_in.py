"""Staff sign in through /authorize of a staff-console client (STAFF_LOGIN_CLIENTS): no consent screen, tokens with roles."""
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session

from identity import staff
from identity.models import StaffAccount
from .helpers import register_client, start_authorize, transaction_id_of, unique, redeem

STAFF_CLIENT = "govstack-portal"  # the default of STAFF_LOGIN_CLIENTS
PASSWORD = "correct horse battery staple"
ROLES = ["operator", "enterprise_reviewer", "enterprise_registrar"]


@pytest.fixture(scope="module")
def console(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, clientId=STAFF_CLIENT)
    return {"client_id": client_id, "key": key}


@pytest.fixture
def staff_member(engine) -> dict:
    username = unique("officer")
    with Session(engine) as session:
        account = staff.create_local(session, username=username, password=PASSWORD, roles=ROLES)
        session.commit()
        return {"username": username, "id": account.id}


def _staff_login(browser: httpx.Client, username: str, password: str, **params) -> httpx.Response:
    page = start_authorize(browser, STAFF_CLIENT, acr_values="idbb:acr:staff-password", **params)
    assert page.status_code == 200, page.text
    return browser.post("/authorize/staff-login", data={"transaction_id": transaction_id_of(page.text), "username": username,
                                                        "password": password})


def _claims(base_url: str, token: str) -> dict:
    keys = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())
    return jwt.decode(token, keys).claims


def test_login_page_of_a_staff_console_offers_staff_sign_in(base_url, console):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, STAFF_CLIENT, acr_values="idbb:acr:staff-password")

    assert page.status_code == 200
    assert 'action="/authorize/staff-login"' in page.text and 'id="staff-login" open' in page.text


def test_login_page_of_other_clients_has_no_staff_sign_in(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, rp["client_id"])
        refused = start_authorize(browser, rp["client_id"], acr_values="idbb:acr:staff-password")

    assert page.status_code == 200 and "/authorize/staff-login" not in page.text
    assert "/authorize/staff-login" not in refused.text  # the error page: this client cannot ask for a staff sign-in


def test_staff_member_gets_a_code_without_consent_and_tokens_with_roles(base_url, console, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        login = _staff_login(browser, staff_member["username"], PASSWORD, nonce="n-1")
    query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}
    tokens = redeem(base_url, console["client_id"], console["key"], query["code"])

    access, id_token = _claims(base_url, tokens.json()["access_token"]), _claims(base_url, tokens.json()["id_token"])
    assert login.status_code == 303 and login.headers["location"].startswith("https://rp.example.la/callback?")
    assert tokens.status_code == 200, tokens.text
    assert access["sub"] == staff_member["id"] and access["client_id"] == STAFF_CLIENT and access["aud"] == STAFF_CLIENT
    assert access["roles"] == ROLES and access["preferred_username"] == staff_member["username"]
    assert id_token["sub"] == staff_member["id"] and id_token["nonce"] == "n-1" and id_token["roles"] == ROLES
    assert id_token["acr"] == "idbb:acr:staff-password"


def test_a_citizen_transaction_of_a_staff_console_accepts_a_staff_login(base_url, console, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, STAFF_CLIENT)  # the citizen's PIN login, with the staff tab closed
        login = browser.post("/authorize/staff-login", data={"transaction_id": transaction_id_of(page.text),
                                                            "username": staff_member["username"], "password": PASSWORD})

    assert 'id="staff-login">' in page.text
    assert login.status_code == 303 and "code=" in login.headers["location"]


def test_wrong_password_gets_no_code(base_url, console, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        login = _staff_login(browser, staff_member["username"], "not the password")

    assert login.status_code == 401
    assert "location" not in login.headers and 'role="alert"' in login.text


def test_staff_login_for_a_client_not_in_the_list_is_refused(base_url, rp, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, rp["client_id"])
        login = browser.post("/authorize/staff-login", data={"transaction_id": transaction_id_of(page.text),
                                                            "username": staff_member["username"], "password": PASSWORD})

    assert login.status_code == 200 and "location" not in login.headers  # the error page
    assert "code=" not in login.text


def test_account_is_locked_after_repeated_failures(base_url, settings, engine, console, staff_member):
    for _ in range(settings.max_failed_attempts):
        with httpx.Client(base_url=base_url) as browser:
            _staff_login(browser, staff_member["username"], "wrong password")

    with httpx.Client(base_url=base_url) as browser:
        login = _staff_login(browser, staff_member["username"], PASSWORD)

    with Session(engine) as session:
        account = session.get(StaffAccount, staff_member["id"])
    assert login.status_code == 429 and "location" not in login.headers
    assert account.locked_until is not None


def test_deactivated_account_cannot_redeem_its_code(base_url, engine, console, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        login = _staff_login(browser, staff_member["username"], PASSWORD)
    code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
    with Session(engine) as session:
        account = session.get(StaffAccount, staff_member["id"])
        account.status = "disabled"
        session.add(account)
        session.commit()

    tokens = redeem(base_url, console["client_id"], console["key"], code)

    assert tokens.status_code == 400 and tokens.json()["error"] == "invalid_transaction"


def test_processing_roles_of_e_services_are_accepted_and_unsafe_names_refused(engine):
    with Session(engine) as session:
        account = staff.create_local(session, username=unique("reviewer"), password=PASSWORD, roles=["sct_social_worker"])
        with pytest.raises(staff.Invalid):
            staff.create_local(session, username=unique("bad"), password=PASSWORD, roles=["Reviewer role"])
        with pytest.raises(staff.Invalid):
            staff.create_local(session, username=unique("bad"), password=PASSWORD, roles=["x" * 65])
        session.rollback()

    assert account.roles == ["sct_social_worker"]


def test_userinfo_refuses_a_staff_token(base_url, console, staff_member):
    with httpx.Client(base_url=base_url) as browser:
        login = _staff_login(browser, staff_member["username"], PASSWORD)
    code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
    access_token = redeem(base_url, console["client_id"], console["key"], code).json()["access_token"]

    response = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    assert response.status_code == 401
