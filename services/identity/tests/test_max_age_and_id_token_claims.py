import json
from datetime import timedelta

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session

from identity.models import AuthTransaction, utcnow
from .helpers import login_and_consent, redeem, start_authorize, transaction_id_of


def _id_token(base_url, rp, code) -> dict:
    response = redeem(base_url, rp["client_id"], rp["key"], code)
    assert response.status_code == 200, response.text
    jwks = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())
    return jwt.decode(response.json()["id_token"], jwks, algorithms=["RS256"]).claims


def test_claims_asked_for_in_the_id_token_are_put_there_when_consented(base_url, rp, person):
    claims = json.dumps({"id_token": {"name": {"essential": True}, "birthdate": None}, "userinfo": {"email": None}})
    with httpx.Client(base_url=base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, accept=["name", "email"], scope="openid", claims=claims,
                                     claims_locales="en")

    id_token = _id_token(base_url, rp, callback["code"])

    assert id_token["name"] == "Somchai Xayavong"
    assert "birthdate" not in id_token  # asked for, not consented
    assert "email" not in id_token  # consented, but asked for in userinfo only


def test_without_the_claims_parameter_the_id_token_carries_no_personal_claims(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person)

    id_token = _id_token(base_url, rp, callback["code"])

    assert not {"name", "birthdate", "email", "phone_number"} & id_token.keys()


def test_consent_after_max_age_has_passed_asks_to_log_in_again(base_url, engine, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"], max_age="60", ui_locales="en").text)
        login = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})
        with Session(engine) as session:  # the person logged in 61 seconds ago
            transaction = session.get(AuthTransaction, transaction_id)
            transaction.auth_time = utcnow() - timedelta(seconds=61)
            session.add(transaction)
            session.commit()
        consent = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow", "claims": ["name"]})
        again = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})

    assert login.status_code == 303
    assert consent.status_code == 200 and "Please sign in again" in consent.text and "location" not in consent.headers
    assert again.status_code == 303 and again.headers["location"].startswith("/authorize/consent")


def test_within_max_age_the_code_is_issued_and_auth_time_is_in_the_id_token(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, max_age="300")

    id_token = _id_token(base_url, rp, callback["code"])

    assert id_token["iat"] - 300 <= id_token["auth_time"] <= id_token["iat"]


@pytest.mark.parametrize("max_age", ["-1", "abc", "1e3"])
def test_a_malformed_max_age_is_an_invalid_request(base_url, rp, max_age):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, rp["client_id"], max_age=max_age)

    assert 'data-error="invalid_request"' in page.text
