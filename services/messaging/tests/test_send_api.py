import base64
import json

import httpx
import pytest
from sqlmodel import Session, func, select

from kernel.outbox import OutboxMessage
from messaging import crypto
from messaging.models import Message, SendRequest
from .helpers import address, email_body, send, sms_body, status, unique


def count_outbox(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage)).one()


def messages_of(engine, request_uid: str) -> list[Message]:
    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
        return list(session.exec(select(Message).where(Message.request_id == request.id)).all())


def test_single_email_is_accepted_and_scheduled(base_url, api_key, engine):
    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": api_key})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["requestUID"] == body["requestUid"] and len(body["requestUID"]) == 29
    assert status(base_url, api_key, body["requestUID"], "scheduled", "delivered") == {"scheduled": 1, "delivered": 0}


def test_batch_holds_one_message_per_base64_recipient(base_url, api_key, engine):
    request_uid = send(base_url, api_key, email_body(address(), address(), address()), path="/send/email/batch")

    assert len(messages_of(engine, request_uid)) == 3
    assert status(base_url, api_key, request_uid, "scheduled") == {"scheduled": 3}


def test_each_accepted_message_requests_its_delivery_through_the_outbox(base_url, api_key, engine):
    before = count_outbox(engine)

    request_uid = send(base_url, api_key, email_body(address(), address()), path="/send/email/batch")

    ids = {message.id for message in messages_of(engine, request_uid)}
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.type == "messaging.message.accepted.routine")).all()
    assert ids <= {row.data["message_id"] for row in rows}
    assert count_outbox(engine) == before + 2
    assert all(set(row.data) == {"message_id"} for row in rows)  # ids only


def test_both_endpoints_accept_both_recipient_shapes(base_url, api_key, engine):
    # The GovStack suite reuses one body object, so each endpoint sees the other's shape.
    batch_on_single = send(base_url, api_key, email_body(address(), address()), path="/send/email/single")
    single_on_batch = send(base_url, api_key, email_body(address()), path="/send/email/batch")

    assert len(messages_of(engine, batch_on_single)) == 2
    assert len(messages_of(engine, single_on_batch)) == 1


def test_callback_uri_is_read_from_either_spelling(base_url, api_key, engine):
    body = email_body(address())
    body["callbackURI"] = {"URI": "https://client.example.la/replies"}

    request_uid = send(base_url, api_key, body, path="/send/email/batch")

    with Session(engine) as session:
        assert session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one().callback_uri == "https://client.example.la/replies"


def test_identical_request_from_the_same_caller_is_not_queued_twice(base_url, api_key, engine):
    body = email_body(address())
    first = send(base_url, api_key, body)
    before = count_outbox(engine)

    second = send(base_url, api_key, body)

    assert second == first
    assert count_outbox(engine) == before


def test_same_content_from_another_caller_is_its_own_request(base_url, api_key, emergency_api_key):
    body = email_body(address())

    assert send(base_url, api_key, body) != send(base_url, emergency_api_key, body)


def test_routes_also_answer_under_the_openapi_base_path(base_url, api_key):
    request_uid = send(base_url, api_key, email_body(address()), path="/v1/send/email/single")

    assert status(base_url, api_key, request_uid, "scheduled", path="/v1/status/email") == {"scheduled": 1}


@pytest.mark.parametrize("requested", [
    ["scheduled", "processing", "deferred", "bounced", "not sent", "delivered"],
    ["scheduled", "processing", "deferred", "bounced", "not_sent", "delivered"],
    ["notSent"],
    ["processing", "deferred", "bounced"],
])
def test_status_answers_exactly_the_requested_names(base_url, api_key, requested):
    request_uid = send(base_url, api_key, email_body(address()))

    assert sorted(status(base_url, api_key, request_uid, *requested)) == sorted(requested)


def test_status_accepts_repeated_plain_status_parameter_with_commas(base_url, api_key):
    request_uid = send(base_url, api_key, email_body(address()))

    response = httpx.get(f"{base_url}/status/email", params=[("status", "scheduled, delivered"), ("status", "bounced")],
                         headers={"apiKey": api_key, "requestUid": request_uid})

    assert response.json() == {"scheduled": 1, "delivered": 0, "bounced": 0}


def test_addresses_and_content_are_encrypted_at_rest(base_url, api_key, engine, settings):
    recipient, content = address(), unique("secret-content")

    request_uid = send(base_url, api_key, email_body(recipient, content=content))

    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
        message = session.exec(select(Message).where(Message.request_id == request.id)).one()
    stored = " ".join(str(value) for value in (*request.model_dump().values(), *message.model_dump().values()))
    assert recipient not in stored and content not in stored
    assert crypto.decrypt(settings.messaging_secret, message.recipient_enc)["email"] == recipient


@pytest.mark.parametrize("number", ["020 5555 1234", "+856 20 5555 1234", "2055551234"])
def test_sms_to_lao_numbers_is_stored_in_e164(base_url, api_key, engine, settings, number):
    request_uid = send(base_url, api_key, sms_body(number), path="/send/sms/single")

    [message] = messages_of(engine, request_uid)
    assert crypto.decrypt(settings.messaging_secret, message.recipient_enc)["phoneNumber"] == "+8562055551234"
    assert status(base_url, api_key, request_uid, "scheduled", path="/status/sms") == {"scheduled": 1}


def test_sms_batch_holds_one_message_per_number(base_url, api_key, engine):
    request_uid = send(base_url, api_key, sms_body("02055551234", "02099998888"), path="/send/sms/batch")

    assert len(messages_of(engine, request_uid)) == 2


def _b64(value) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


BAD_EMAIL_BODIES = {
    "no recipient": {"emailContent": {"title": "t", "content": "c"}},
    "no content": {"recipientInfo": {"email": "a@example.la"}},
    "empty title": email_body("a@example.la", title=""),
    "invalid address": email_body("not-an-address"),
    "invalid cc": {**email_body("a@example.la"), "recipientInfo": {"email": "a@example.la", "emailCC": "nope@"}},
    "batch not base64": {**email_body("a@example.la"), "recipientInfo": {"batchEmailAsBase64": "%%%"}},
    "batch not a list": {**email_body("a@example.la"), "recipientInfo": {"batchEmailAsBase64": _b64({"a": 1})}},
    "batch with an invalid address": {**email_body("a@example.la"), "recipientInfo": {"batchEmailAsBase64": _b64([{"recipientInfo": {"email": "x"}}])}},
    "oversized batch": {**email_body("a@example.la"), "recipientInfo": {"batchEmailAsBase64": _b64([{"recipientInfo": {"email": f"a{i}@example.la"}} for i in range(1001)])}},
    "wrong types": {**email_body("a@example.la"), "emailContent": {"title": 5, "content": ["x"]}},
    "other encoding": {**email_body("a@example.la"), "emailContent": {"encoding": "latin-1", "title": "t", "content": "c"}},
    "callback not http": email_body("a@example.la", callback_uri="file:///etc/passwd"),
    "unknown priority": email_body("a@example.la", priority="urgent"),
    "emergency without permission": email_body("a@example.la", priority="emergency"),
    "title with a line break": email_body("a@example.la", title="Hello\r\nBcc: victim@example.la"),
    "sender reply-to not an address": {**email_body("a@example.la"), "senderInfo": {"replyTo": "nobody"}},
    "sender name with a line break": {**email_body("a@example.la"), "senderInfo": {"name": "A\nB"}},
    "recipient name with a line break": {**email_body("a@example.la"), "recipientInfo": {"email": "a@example.la", "name": "A\r\nB"}},
}


@pytest.mark.parametrize("case", list(BAD_EMAIL_BODIES))
def test_invalid_email_body_gets_405_and_queues_nothing(base_url, api_key, engine, case):
    before = count_outbox(engine)

    response = httpx.post(f"{base_url}/send/email/batch", json=BAD_EMAIL_BODIES[case], headers={"api_key": api_key})

    assert response.status_code == 405, response.text
    assert response.json()["response"] == "Invalid input"
    assert count_outbox(engine) == before


# What Python's mail headers also take as line breaks, beyond \n and \r (str.splitlines()).
UNICODE_LINE_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
HEADER_TEXTS = {
    "email title": lambda text: ("/send/email/single", email_body(address(), title=f"Hello{text}world")),
    "email batch title": lambda text: ("/send/email/batch", email_body(address(), address(), title=f"Hello{text}world")),
    "email recipient name": lambda text: ("/send/email/single", {**email_body(address()), "recipientInfo": {"email": address(), "name": f"A{text}B"}}),
    "email batch recipient name": lambda text: ("/send/email/batch", {**email_body(address()), "recipientInfo": {
        "batchEmailAsBase64": _b64([{"recipientInfo": {"email": address(), "name": f"A{text}B"}}])}}),
    "email sender name": lambda text: ("/send/email/single", {**email_body(address()), "senderInfo": {"name": f"A{text}B"}}),
    "email organisation name": lambda text: ("/send/email/single", {**email_body(address()), "senderInfo": {"organisationName": f"A{text}B"}}),
    "sms recipient name": lambda text: ("/send/sms/single", {**sms_body("02055551234"), "recipientInfo": {"phoneNumber": "02055551234", "name": f"A{text}B"}}),
    "sms sender name": lambda text: ("/send/sms/single", {**sms_body("02055551234"), "senderInfo": {"name": f"A{text}B"}}),
}


@pytest.mark.parametrize("line_break", UNICODE_LINE_BREAKS, ids=[hex(ord(c)) for c in UNICODE_LINE_BREAKS])
@pytest.mark.parametrize("field", list(HEADER_TEXTS))
def test_a_header_text_with_any_line_break_gets_405_and_queues_nothing(base_url, api_key, engine, field, line_break):
    """The worker could never write such a mail: it was accepted, then bounced as unsendable."""
    path, body = HEADER_TEXTS[field](line_break)
    before = count_outbox(engine)

    response = httpx.post(f"{base_url}{path}", json=body, headers={"api_key": api_key})

    assert response.status_code == 405, response.text
    assert response.json()["response"] == "Invalid input"
    assert count_outbox(engine) == before


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"{" + b" " * 1_000_001 + b"}"])
def test_missing_or_malformed_body_gets_405(base_url, api_key, raw):
    response = httpx.post(f"{base_url}/send/email/single", content=raw, headers={"api_key": api_key, "content-type": "application/json"})

    assert response.status_code == 405


@pytest.mark.parametrize("number", ["+66 81 234 5678", "12", "+856 99", "not a number"])
def test_sms_to_invalid_or_foreign_numbers_gets_405(base_url, api_key, engine, number):
    before = count_outbox(engine)

    response = httpx.post(f"{base_url}/send/sms/single", json=sms_body(number), headers={"api_key": api_key})

    assert response.status_code == 405
    assert count_outbox(engine) == before


@pytest.mark.parametrize("headers", [{}, {"api_key": ""}, {"api_key": "unknown-key"}, {"Authorization": "Bearer x"}])
def test_send_without_a_known_api_key_gets_405_and_queues_nothing(base_url, engine, headers):
    before = count_outbox(engine)

    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers=headers)

    assert response.status_code == 405
    assert count_outbox(engine) == before


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_on_send_gets_405_allowing_post(base_url, api_key, method):
    response = httpx.request(method, f"{base_url}/send/email/single", headers={"api_key": api_key})

    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


def test_wrong_method_on_status_gets_405_allowing_get(base_url, api_key):
    response = httpx.post(f"{base_url}/status/email", headers={"api_key": api_key})

    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("case", ["no key", "no request uid", "no status", "unknown status", "unknown request uid", "another caller's request", "sms request on email status"])
def test_bad_status_query_gets_405(base_url, api_key, emergency_api_key, case):
    request_uid = send(base_url, api_key, email_body(address()))
    sms_uid = send(base_url, api_key, sms_body("02055551234", content=unique("s")), path="/send/sms/single")
    headers = {"api_key": api_key, "requestUID": request_uid}
    params = [("status[]", "scheduled")]
    if case == "no key":
        del headers["api_key"]
    elif case == "no request uid":
        del headers["requestUID"]
    elif case == "no status":
        params = []
    elif case == "unknown status":
        params = [("status[]", "lost")]
    elif case == "unknown request uid":
        headers["requestUID"] = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"
    elif case == "another caller's request":
        headers["api_key"] = emergency_api_key
    elif case == "sms request on email status":
        headers["requestUID"] = sms_uid

    response = httpx.get(f"{base_url}/status/email", params=params, headers=headers)

    assert response.status_code == 405


def test_reply_callback_is_accepted_once_for_repeated_posts(base_url, api_key, engine):
    request_uid = send(base_url, api_key, email_body(address()))
    body = {"meta": "reply", "content": _b64({"answer": "yes"})}

    answers = [httpx.post(f"{base_url}/callback/email", json=body, headers={"api_key": api_key, "requestUID": request_uid}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].headers["content-type"].startswith("application/json")
    with Session(engine) as session:
        replies = session.exec(select(OutboxMessage).where(OutboxMessage.type == "messaging.reply.received")).all()
    request_id = messages_of(engine, request_uid)[0].request_id
    assert len([row for row in replies if row.data["request_id"] == request_id]) == 1


@pytest.mark.parametrize("case", ["no key", "no request uid", "no body", "content not base64"])
def test_bad_reply_callback_gets_405(base_url, api_key, case):
    request_uid = send(base_url, api_key, email_body(address()))
    headers = {"api_key": api_key, "requestUID": request_uid}
    body = {"meta": "m", "content": _b64("ok")}
    if case == "no key":
        del headers["api_key"]
    elif case == "no request uid":
        del headers["requestUID"]
    elif case == "no body":
        body = None
    elif case == "content not base64":
        body["content"] = "%%%"

    response = httpx.post(f"{base_url}/callback/email", json=body, headers=headers)

    assert response.status_code == 405


def test_callback_uri_outside_the_allowed_prefixes_gets_405(settings, engine):
    from kernel.testing import serve
    from messaging.app import create_app
    from .conftest import make_api_key

    key = make_api_key(engine)
    restricted = settings.model_copy(update={"callback_url_prefixes": ["https://registration.gov.la/"]})
    with serve(create_app(restricted)) as url:
        inside = httpx.post(f"{url}/send/email/single", json=email_body(address(), callback_uri="https://registration.gov.la/cb"), headers={"api_key": key})
        outside = httpx.post(f"{url}/send/email/single", json=email_body(address(), callback_uri="http://127.0.0.1:8001/admin"), headers={"api_key": key})

    assert (inside.status_code, outside.status_code) == (200, 405)
