"""OTP as the proof of a wallet binding and as a challenge of linked (wallet) authentication, sent through the Messaging BB."""
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session, select

from kernel.outbox import OutboxMessage
from identity import otp
from identity.models import OtpChallenge
from .helpers import (PARTNER_KEY, enrol_person, linked_request, new_key, new_partner, redeem, register_client, request_time,
                      start_linked, wallet_post)

OTP_ACR = "idbb:acr:generated-code"


@pytest.fixture
def person(base_url, admin_token):
    """A citizen of one test: codes sent and wrong codes count against the person across transactions and partners."""
    return enrol_person(base_url, admin_token)


def _headers(token, partner_id) -> dict:
    return {"Authorization": f"Bearer {token}", "PARTNER-ID": partner_id, "PARTNER-API-KEY": PARTNER_KEY}


def _ask_binding_code(base_url, token, partner_id, individual_id, channels=("phone",)) -> httpx.Response:
    return httpx.post(f"{base_url}/binding-otp", headers=_headers(token, partner_id),
                      json={"requestTime": request_time(), "request": {"individualId": individual_id, "otpChannels": list(channels)}})


def _bind_with_otp(base_url, token, partner_id, individual_id, code) -> httpx.Response:
    request = {"individualId": individual_id, "authFactorType": "WLA", "format": "jwt", "publicKey": new_key().as_dict(private=False),
               "challengeList": [{"authFactorType": "OTP", "challenge": code, "format": "number"}]}
    return httpx.post(f"{base_url}/wallet-binding", headers=_headers(token, partner_id), json={"requestTime": request_time(), "request": request})


def _codes(messaging, key: str) -> dict:
    return messaging.command_for(key)["envelope"]["data"]


def test_binding_code_goes_to_the_persons_phone_and_proves_the_binding(base_url, settings, messaging, binding_token, partner_id, person):
    sent = _ask_binding_code(base_url, binding_token, partner_id, person["uin"])
    command = _codes(messaging, otp.binding_key(settings, partner_id=partner_id, individual_id=person["uin"]))

    bound = _bind_with_otp(base_url, binding_token, partner_id, person["uin"], command["otp"])

    assert sent.status_code == 200 and sent.json()["errors"] == [] and sent.json()["response"] == {}
    assert (command["channel"], command["recipient"]) == ("sms", "+856201234567")
    assert bound.json()["errors"] == [], bound.text
    assert bound.json()["response"]["walletUserId"]


def test_a_binding_code_is_used_once(base_url, settings, messaging, binding_token, partner_id, person):
    _ask_binding_code(base_url, binding_token, partner_id, person["uin"], channels=["email"])
    code = _codes(messaging, otp.binding_key(settings, partner_id=partner_id, individual_id=person["uin"]))["otp"]

    first = _bind_with_otp(base_url, binding_token, partner_id, person["uin"], code)
    again = _bind_with_otp(base_url, binding_token, partner_id, person["uin"], code)

    assert first.json()["errors"] == []
    assert [e["errorCode"] for e in again.json()["errors"]] == ["invalid_auth_challenge"]


def test_wrong_binding_codes_are_refused_and_use_the_code_up(base_url, settings, messaging, binding_token, partner_id, person):
    _ask_binding_code(base_url, binding_token, partner_id, person["uin"])
    code = _codes(messaging, otp.binding_key(settings, partner_id=partner_id, individual_id=person["uin"]))["otp"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    attempts = [_bind_with_otp(base_url, binding_token, partner_id, person["uin"], wrong) for _ in range(settings.otp_max_attempts)]
    right = _bind_with_otp(base_url, binding_token, partner_id, person["uin"], code)

    assert all([e["errorCode"] for e in a.json()["errors"]] == ["invalid_auth_challenge"] for a in attempts)
    assert [e["errorCode"] for e in right.json()["errors"]] == ["invalid_auth_challenge"]


def test_another_partner_cannot_use_the_code_sent_for_a_partner(base_url, settings, engine, messaging, binding_token, partner_id, person):
    _ask_binding_code(base_url, binding_token, partner_id, person["uin"])
    code = _codes(messaging, otp.binding_key(settings, partner_id=partner_id, individual_id=person["uin"]))["otp"]

    response = _bind_with_otp(base_url, binding_token, new_partner(engine), person["uin"], code)

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_auth_challenge"]


def test_an_unknown_id_gets_the_same_answer_and_no_message(base_url, settings, engine, binding_token, partner_id):
    response = _ask_binding_code(base_url, binding_token, partner_id, "6170843404")

    key = otp.binding_key(settings, partner_id=partner_id, individual_id="6170843404")
    with Session(engine) as session:
        commands = session.exec(select(OutboxMessage).where(OutboxMessage.subject == key)).all()
    assert response.status_code == 200 and response.json()["errors"] == [] and response.json()["response"] == {}
    assert commands == []


def test_binding_codes_per_person_and_partner_are_limited(base_url, settings, binding_token, partner_id, admin_token):
    someone = enrol_person(base_url, admin_token)

    answers = [_ask_binding_code(base_url, binding_token, partner_id, someone["uin"]) for _ in range(settings.otp_max_sends + 1)]

    assert [a.json()["errors"] for a in answers[:-1]] == [[]] * settings.otp_max_sends
    assert [e["errorCode"] for e in answers[-1].json()["errors"]] == ["send_otp_failed"]


def test_using_binding_codes_up_does_not_reset_the_limit(base_url, settings, binding_token, partner_id, admin_token):
    someone = enrol_person(base_url, admin_token)
    never_right = "wrong!"  # codes are digits

    answers = []
    for _ in range(settings.otp_max_sends + 1):
        answers.append(_ask_binding_code(base_url, binding_token, partner_id, someone["uin"]))
        for _ in range(settings.otp_max_attempts):
            _bind_with_otp(base_url, binding_token, partner_id, someone["uin"], never_right)

    assert [a.json()["errors"] for a in answers[:-1]] == [[]] * settings.otp_max_sends
    assert [e["errorCode"] for e in answers[-1].json()["errors"]] == ["send_otp_failed"]

def _code_expired(engine, key: str) -> None:
    """What maintenance does once a code's lifetime is over."""
    with Session(engine) as session:
        session.delete(session.get(OtpChallenge, key))
        session.commit()


def test_binding_codes_per_partner_and_id_are_limited_across_code_lifetimes(base_url, settings, engine, binding_token, partner_id,
                                                                             admin_token):
    someone = enrol_person(base_url, admin_token)
    key = otp.binding_key(settings, partner_id=partner_id, individual_id=someone["uin"])

    answers = []
    for sent in range(settings.otp_binding_max_sends + 1):
        if sent and sent % settings.otp_max_sends == 0:
            _code_expired(engine, key)
        answers.append(_ask_binding_code(base_url, binding_token, partner_id, someone["uin"]))

    assert settings.otp_binding_max_sends < settings.otp_person_max_sends  # the partner's limit is the one reached
    assert [a.json()["errors"] for a in answers[:-1]] == [[]] * settings.otp_binding_max_sends
    assert [e["errorCode"] for e in answers[-1].json()["errors"]] == ["send_otp_failed"]


def test_codes_per_person_are_limited_across_partners(base_url, settings, engine, binding_token, admin_token):
    someone = enrol_person(base_url, admin_token)

    answers = []
    for sent in range(settings.otp_person_max_sends + 1):
        partner = new_partner(engine) if sent % settings.otp_max_sends == 0 else partner
        answers.append(_ask_binding_code(base_url, binding_token, partner, someone["uin"]))

    assert [a.json()["errors"] for a in answers[:-1]] == [[]] * settings.otp_person_max_sends
    assert [e["errorCode"] for e in answers[-1].json()["errors"]] == ["send_otp_failed"]


def test_wrong_binding_codes_lock_the_persons_otp_sign_in(base_url, settings, engine, messaging, binding_token, partner_id, person):
    _ask_binding_code(base_url, binding_token, partner_id, person["uin"])
    code = _codes(messaging, otp.binding_key(settings, partner_id=partner_id, individual_id=person["uin"]))["otp"]
    wrong = 0
    while wrong < settings.otp_person_max_failures:  # through other partners: each has its own code and attempts
        other = new_partner(engine)
        _ask_binding_code(base_url, binding_token, other, person["uin"])
        for _ in range(min(settings.otp_max_attempts, settings.otp_person_max_failures - wrong)):
            _bind_with_otp(base_url, binding_token, other, person["uin"], "wrong!")
            wrong += 1

    right = _bind_with_otp(base_url, binding_token, partner_id, person["uin"], code)
    another = _ask_binding_code(base_url, binding_token, new_partner(engine), person["uin"])

    assert [e["errorCode"] for e in right.json()["errors"]] == ["invalid_auth_challenge"]
    assert [e["errorCode"] for e in another.json()["errors"]] == ["send_otp_failed"]


@pytest.mark.parametrize("request_fields, code", [
    ({"otpChannels": ["sms"]}, "invalid_identifier"),
    ({"individualId": "6170843404", "otpChannels": ["fax"]}, "invalid_otp_channel"),
    ({"individualId": "6170843404", "otpChannels": []}, "invalid_otp_channel"),
    ({"individualId": "6170843404"}, "invalid_otp_channel"),
])
def test_bad_binding_code_requests_get_a_business_error(base_url, binding_token, partner_id, request_fields, code):
    response = httpx.post(f"{base_url}/binding-otp", headers=_headers(binding_token, partner_id),
                          json={"requestTime": request_time(), "request": request_fields})

    assert response.status_code == 200 and [e["errorCode"] for e in response.json()["errors"]] == [code]


def test_binding_codes_need_the_wallet_binding_scope_and_the_partner_key(base_url, oidc_issuer, binding_token, partner_id, person):
    other_scope = oidc_issuer.token(sub="wallet-backend", audience="identity", scopes=["add_oidc_client"])
    body = {"requestTime": request_time(), "request": {"individualId": person["uin"], "otpChannels": ["sms"]}}

    no_token = httpx.post(f"{base_url}/binding-otp", json=body, headers={"PARTNER-ID": partner_id, "PARTNER-API-KEY": PARTNER_KEY})
    wrong_scope = httpx.post(f"{base_url}/binding-otp", json=body, headers=_headers(other_scope, partner_id))
    wrong_key = httpx.post(f"{base_url}/binding-otp", json=body, headers=_headers(binding_token, partner_id) | {"PARTNER-API-KEY": "nope"})

    assert (no_token.status_code, wrong_scope.status_code, wrong_key.status_code) == (401, 403, 401)


@pytest.fixture(scope="module")
def otp_wallet_rp(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, authContextRefs=[OTP_ACR])
    return {"client_id": client_id, "key": key}


def _linked_transaction(base_url, browser, client_id) -> tuple[dict, dict]:
    link = start_linked(browser, client_id)
    linked = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])
    assert linked["errors"] == [], linked
    return link, linked["response"]


def test_wallet_signs_in_with_an_otp_and_the_id_token_says_generated_code(base_url, engine, messaging, otp_wallet_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        link, linked = _linked_transaction(base_url, browser, otp_wallet_rp["client_id"])
        sent = wallet_post(base_url, "send-otp", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"], otpChannels=["sms"])
        code = messaging.command_for(link["transaction_id"])["envelope"]["data"]["otp"]
        authenticated = wallet_post(base_url, "authenticate", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"],
                                    challengeList=[{"authFactorType": "OTP", "challenge": code, "format": "alpha-numeric"}])
        wallet_post(base_url, "consent", linkedTransactionId=linked["linkTransactionId"], acceptedClaims=["name"])
        auth_code = browser.post("/linked-authorization/link-auth-code", headers={"X-XSRF-TOKEN": link["xsrf"]},
                                 json=linked_request(transactionId=link["transaction_id"], linkedCode=link["link_code"])).json()
    tokens = redeem(base_url, otp_wallet_rp["client_id"], otp_wallet_rp["key"], auth_code["response"]["code"])

    assert linked["authFactors"] == [[{"type": "OTP"}]]
    assert sent["errors"] == [] and sent["response"]["linkedTransactionId"] == linked["linkTransactionId"]
    assert authenticated["errors"] == [], authenticated
    jwks = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())
    assert jwt.decode(tokens.json()["id_token"], jwks, algorithms=["RS256"]).claims["acr"] == OTP_ACR


def test_a_code_sent_to_one_person_does_not_authenticate_another(base_url, admin_token, messaging, otp_wallet_rp, person):
    other = enrol_person(base_url, admin_token)
    with httpx.Client(base_url=base_url) as browser:
        link, linked = _linked_transaction(base_url, browser, otp_wallet_rp["client_id"])
        wallet_post(base_url, "send-otp", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"], otpChannels=["sms"])
        code = messaging.command_for(link["transaction_id"])["envelope"]["data"]["otp"]

        response = wallet_post(base_url, "authenticate", linkedTransactionId=linked["linkTransactionId"], individualId=other["uin"],
                               challengeList=[{"authFactorType": "OTP", "challenge": code, "format": "number"}])

    assert [e["errorCode"] for e in response["errors"]] == ["auth_failed"]


def test_otp_is_not_offered_to_a_client_that_did_not_register_generated_code(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        _, linked = _linked_transaction(base_url, browser, rp["client_id"])

        sent = wallet_post(base_url, "send-otp", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"], otpChannels=["sms"])
        authenticated = wallet_post(base_url, "authenticate", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"],
                                    challengeList=[{"authFactorType": "OTP", "challenge": "123456", "format": "number"}])

    assert [e["errorCode"] for e in sent["errors"]] == ["invalid_auth_factor"]
    assert [e["errorCode"] for e in authenticated["errors"]] == ["auth_failed"]


def test_an_otp_challenge_in_a_jwt_format_is_refused(base_url, otp_wallet_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        _, linked = _linked_transaction(base_url, browser, otp_wallet_rp["client_id"])

        response = wallet_post(base_url, "authenticate", linkedTransactionId=linked["linkTransactionId"], individualId=person["uin"],
                               challengeList=[{"authFactorType": "OTP", "challenge": "123456", "format": "jwt"}])

    assert [e["errorCode"] for e in response["errors"]] == ["invalid_request"]
