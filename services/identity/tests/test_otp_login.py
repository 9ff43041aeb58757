import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session, select

from kernel.outbox import OutboxMessage
from kernel.testing import wait_until
from identity.models import OtpChallenge, OtpLimit, utcnow
from .helpers import enrol_person, redeem, register_client, start_authorize, transaction_id_of, unique

OTP_ACR = "idbb:acr:generated-code"


@pytest.fixture(scope="module")
def otp_rp(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, authContextRefs=[OTP_ACR])
    return {"client_id": client_id, "key": key}


@pytest.fixture
def person(base_url, admin_token):
    """A citizen of one test: codes sent and wrong codes count against the person across transactions."""
    return enrol_person(base_url, admin_token)


def _ask_for_code(browser, otp_rp, individual_id, channel="sms", **params) -> tuple[str, httpx.Response]:
    page = start_authorize(browser, otp_rp["client_id"], **params)
    assert page.status_code == 200 and 'name="channel"' in page.text, page.text
    transaction_id = transaction_id_of(page.text)
    sent = browser.post("/authorize/otp/send", data={"transaction_id": transaction_id, "individual_id": individual_id, "channel": channel})
    return transaction_id, sent


def test_otp_login_sends_the_code_through_messaging_and_signs_the_person_in(base_url, engine, messaging, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, sent = _ask_for_code(browser, otp_rp, person["uin"], ui_locales="en")
        command = messaging.command_for(transaction_id)
        code = command["envelope"]["data"]["otp"]
        with Session(engine) as session:
            stored = session.get(OtpChallenge, transaction_id)
        verified = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})
        consent = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow", "claims": ["name"]})
    callback = dict(re.findall(r"[?&](code|state)=([^&]+)", consent.headers["location"]))
    tokens = redeem(base_url, otp_rp["client_id"], otp_rp["key"], callback["code"])

    assert sent.status_code == 200 and 'name="otp"' in sent.text
    assert command["routing_key"] == "identity.otp.requested"
    assert command["envelope"]["data"] == {"transaction_id": transaction_id, "channel": "sms", "recipient": "+856201234567",
                                           "otp": code, "language": "en", "expires_seconds": 180}
    assert re.fullmatch(r"\d{6}", code) and code not in stored.otp_hash
    assert verified.status_code == 303 and verified.headers["location"].startswith("/authorize/consent")
    jwks = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())
    assert jwt.decode(tokens.json()["id_token"], jwks, algorithms=["RS256"]).claims["acr"] == OTP_ACR

    def purged():
        with Session(engine) as session:
            return session.exec(select(OutboxMessage).where(OutboxMessage.id == command["message_id"])).first() is None
    wait_until(purged, timeout=10, message="the sent otp command deleted from identity's outbox")


def test_email_channel_sends_to_the_persons_email_in_lao_by_default(base_url, messaging, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"], channel="email")

    data = messaging.command_for(transaction_id)["envelope"]["data"]

    assert (data["channel"], data["recipient"], data["language"]) == ("email", "somchai@example.la", "lo")


def test_wrong_codes_are_limited_and_then_even_the_right_code_fails(base_url, settings, messaging, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"], ui_locales="en")
        code = messaging.command_for(transaction_id)["envelope"]["data"]["otp"]
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        attempts = [browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": wrong})
                    for _ in range(settings.otp_max_attempts)]
        right = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})

    assert [a.status_code for a in attempts] == [401] * settings.otp_max_attempts
    assert "The code is not correct." in attempts[0].text
    assert "expired or was used up" in attempts[-1].text  # the last wrong try used the code up
    assert right.status_code == 401 and 'name="otp"' not in right.text


def test_an_expired_code_is_refused(base_url, engine, messaging, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"])
        code = messaging.command_for(transaction_id)["envelope"]["data"]["otp"]
        with Session(engine) as session:
            challenge = session.get(OtpChallenge, transaction_id)
            challenge.expires_at = utcnow() - timedelta(seconds=1)
            session.add(challenge)
            session.commit()
        response = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})

    assert response.status_code == 401 and 'name="channel"' in response.text  # back to asking for a new code


def test_an_unknown_id_gets_the_same_page_and_no_message_is_sent(base_url, engine, otp_rp):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, sent = _ask_for_code(browser, otp_rp, "6170843404")

    with Session(engine) as session:
        commands = session.exec(select(OutboxMessage).where(OutboxMessage.subject == transaction_id)).all()
    assert sent.status_code == 200 and 'name="otp"' in sent.text
    assert commands == []


def test_codes_per_transaction_are_limited(base_url, settings, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"])
        more = [browser.post("/authorize/otp/send", data={"transaction_id": transaction_id, "individual_id": person["uin"], "channel": "sms"})
                for _ in range(settings.otp_max_sends)]

    assert [r.status_code for r in more] == [200] * (settings.otp_max_sends - 1) + [429]


def test_using_codes_up_does_not_reset_the_codes_per_transaction(base_url, settings, otp_rp, person):
    never_right = "wrong!"  # codes are digits
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"])
        sends = []
        for _ in range(settings.otp_max_sends):
            for _ in range(settings.otp_max_attempts):
                browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": never_right})
            sends.append(browser.post("/authorize/otp/send", data={"transaction_id": transaction_id, "individual_id": person["uin"],
                                                                    "channel": "sms"}))

    assert [r.status_code for r in sends] == [200] * (settings.otp_max_sends - 1) + [429]

def test_concurrent_wrong_codes_cannot_outrun_the_attempt_limit(base_url, settings, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"])

        def guess(_):
            return browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": "wrong!"}, timeout=30).text
        with ThreadPoolExecutor(max_workers=12) as pool:
            pages = list(pool.map(guess, range(12)))

    still_asking = [page for page in pages if 'name="otp"' in page]  # the code was not used up yet when this guess was counted
    assert len(still_asking) == settings.otp_max_attempts - 1

def test_a_pin_cannot_sign_in_to_an_otp_transaction(base_url, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, otp_rp["client_id"]).text)
        response = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})

    assert 'data-error="invalid_acr"' in response.text


def _unknown_id() -> str:
    return str(uuid.uuid4().int)[:10]  # nobody's (UINs have a check digit; this one is not even looked at as one)


def _send_again(browser, transaction_id, individual_id) -> httpx.Response:
    return browser.post("/authorize/otp/send", data={"transaction_id": transaction_id, "individual_id": individual_id, "channel": "sms"})


def _guess_wrong_codes(base_url, otp_rp, individual_id, count) -> list[int]:
    """count wrong codes for the ID, in as many transactions as the per-code limit needs; their statuses."""
    statuses = []
    while len(statuses) < count:
        with httpx.Client(base_url=base_url) as browser:
            transaction_id, sent = _ask_for_code(browser, otp_rp, individual_id, ui_locales="en")
            if sent.status_code != 200:
                return statuses + [sent.status_code]
            for _ in range(min(3, count - len(statuses))):
                statuses.append(browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": "wrong!"}).status_code)
    return statuses


@pytest.mark.parametrize("known", [True, False], ids=["enrolled", "unknown-id"])
def test_wrong_codes_across_transactions_lock_the_persons_otp_sign_in(base_url, settings, admin_token, otp_rp, known):
    assert settings.otp_max_attempts == 3  # _guess_wrong_codes spends three per code
    individual_id = enrol_person(base_url, admin_token)["uin"] if known else _unknown_id()

    statuses = _guess_wrong_codes(base_url, otp_rp, individual_id, settings.otp_person_max_failures)
    with httpx.Client(base_url=base_url) as browser:
        _, next_send = _ask_for_code(browser, otp_rp, individual_id, ui_locales="en")

    # An ID number nobody has is answered alike, so the lock tells nothing about which numbers exist.
    assert statuses == [401] * (settings.otp_person_max_failures - 1) + [429], statuses
    assert next_send.status_code == 429 and "Too many failed attempts" in next_send.text


def test_a_locked_person_cannot_sign_in_even_with_the_right_code(base_url, settings, messaging, otp_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id, _ = _ask_for_code(browser, otp_rp, person["uin"], ui_locales="en")
        code = messaging.command_for(transaction_id)["envelope"]["data"]["otp"]
        _guess_wrong_codes(base_url, otp_rp, person["uin"], settings.otp_person_max_failures)

        right = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})

    assert right.status_code == 429 and "Too many failed attempts" in right.text
    assert "location" not in right.headers


def test_the_lock_ends_after_the_lockout(base_url, settings, engine, messaging, otp_rp, person):
    _guess_wrong_codes(base_url, otp_rp, person["uin"], settings.otp_person_max_failures)
    with Session(engine) as session:
        limit = session.get(OtpLimit, f"person:{person['person_id']}")
        limit.locked_until = utcnow() - timedelta(seconds=1)
        session.add(limit)
        session.commit()

    with httpx.Client(base_url=base_url) as browser:
        transaction_id, sent = _ask_for_code(browser, otp_rp, person["uin"])
        code = messaging.command_for(transaction_id)["envelope"]["data"]["otp"]
        verified = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})

    assert sent.status_code == 200
    assert verified.status_code == 303


def test_concurrent_wrong_codes_across_transactions_cannot_outrun_the_persons_lock(base_url, settings, otp_rp, person):
    browsers = [httpx.Client(base_url=base_url) for _ in range(4)]
    transaction_ids = [_ask_for_code(browser, otp_rp, person["uin"])[0] for browser in browsers]
    guesses = [(browser, transaction_id) for browser, transaction_id in zip(browsers, transaction_ids) for _ in range(3)]

    def guess(pair):
        browser, transaction_id = pair
        return browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": "wrong!"}, timeout=30).status_code
    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        statuses = list(pool.map(guess, guesses))
    for browser in browsers:
        browser.close()

    # 12 guesses, three per code: each counted against the person, none lost to a race, so the lock came at the limit.
    assert len(guesses) > settings.otp_person_max_failures
    assert statuses.count(401) == settings.otp_person_max_failures - 1, statuses


@pytest.mark.parametrize("known", [True, False], ids=["enrolled", "unknown-id"])
def test_codes_per_person_are_limited_across_transactions(base_url, settings, admin_token, otp_rp, known):
    individual_id = enrol_person(base_url, admin_token)["uin"] if known else _unknown_id()

    statuses = []
    while len(statuses) <= settings.otp_person_max_sends:
        with httpx.Client(base_url=base_url) as browser:
            transaction_id, sent = _ask_for_code(browser, otp_rp, individual_id)
            statuses.append(sent.status_code)
            while sent.status_code == 200 and len(statuses) <= settings.otp_person_max_sends and len(statuses) % settings.otp_max_sends:
                sent = _send_again(browser, transaction_id, individual_id)
                statuses.append(sent.status_code)

    assert statuses == [200] * settings.otp_person_max_sends + [429], statuses
