"""The append-only status history: every transition is a row with its time and source, shown by /status/{channel}/history."""
import httpx
from sqlmodel import Session, select

from kernel.testing import wait_until
from messaging.delivery import requeue_due
from messaging.models import MessageStatusEvent
from .helpers import address, email_body, send, sms_body, status, unique


def history(base_url, key, request_uid, channel="email") -> dict:
    response = httpx.get(f"{base_url}/status/{channel}/history", headers={"api_key": key, "requestUID": request_uid})
    assert response.status_code == 200, response.text
    return response.json()


def test_delivered_email_shows_each_transition_with_time_and_source(base_url, api_key, worker):
    request_uid = send(base_url, api_key, email_body(address()))
    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 1, message="delivery")

    [message] = history(base_url, api_key, request_uid)["messages"]

    assert message["status"] == "delivered"
    assert [(event["status"], event["source"]) for event in message["history"]] == [("queued", "api"), ("sending", "worker"), ("delivered", "worker")]
    times = [event["at"] for event in message["history"]]
    assert times == sorted(times)
    assert [event["attempt"] for event in message["history"]] == [0, 1, 1]


def test_bounce_is_recorded_with_the_server_answer(base_url, api_key, worker):
    request_uid = send(base_url, api_key, email_body(f"bounce-{unique()}@example.la"))
    wait_until(lambda: status(base_url, api_key, request_uid, "bounced")["bounced"] == 1, message="bounce")

    [message] = history(base_url, api_key, request_uid)["messages"]

    assert message["history"][-1] | {"at": None} == {"status": "bounced", "source": "worker", "attempt": 1, "detail": "smtp_550", "at": None}


def test_history_holds_ids_and_codes_only(base_url, api_key, worker):
    recipient = address()
    request_uid = send(base_url, api_key, email_body(recipient, content="secret appointment details"))
    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 1, message="delivery")

    text = httpx.get(f"{base_url}/status/email/history", headers={"api_key": api_key, "requestUID": request_uid}).text

    assert recipient not in text and "secret" not in text


def test_history_of_another_keys_request_is_refused(base_url, api_key, emergency_api_key):
    request_uid = send(base_url, api_key, email_body(address()))

    response = httpx.get(f"{base_url}/status/email/history", headers={"api_key": emergency_api_key, "requestUID": request_uid})

    assert response.status_code == 405


def test_transitions_are_added_never_rewritten(base_url, api_key, engine, worker):
    request_uid = send(base_url, api_key, email_body(address()))
    queued = history(base_url, api_key, request_uid)["messages"][0]["history"][0]
    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 1, message="delivery")

    [message] = history(base_url, api_key, request_uid)["messages"]

    assert message["history"][0] == queued
    with Session(engine) as session:
        rows = session.exec(select(MessageStatusEvent).where(MessageStatusEvent.message_id == message["messageId"])
                            .order_by(MessageStatusEvent.id)).all()
    assert [row.status for row in rows] == ["queued", "sending", "delivered"]


def test_sms_without_a_delivery_report_becomes_unconfirmed_and_counts_as_delivered(base_url, api_key, settings, engine, http_receiver, worker):
    callback = f"{http_receiver.url}/client/{unique('unconfirmed')}"
    text = unique("sms")
    request_uid = send(base_url, api_key, sms_body("020 5555 1234", content=text, callback={"URI": callback}), path="/send/sms/single")
    wait_until(lambda: status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}, message="sms sent")

    # The scheduler step of a worker whose report timeout has passed (the session's workers wait 24 hours).
    requeue_due(engine, settings=settings.model_copy(update={"sms_delivery_report_timeout_seconds": 0}))

    assert status(base_url, api_key, request_uid, "processing", "delivered", path="/status/sms") == {"processing": 0, "delivered": 1}
    [message] = history(base_url, api_key, request_uid, channel="sms")["messages"]
    assert (message["history"][-1]["status"], message["history"][-1]["source"]) == ("unconfirmed", "scheduler")
    reports = wait_until(lambda: http_receiver.at(callback.removeprefix(http_receiver.url)), message="callback")
    # At least once: a batch the consumer re-applies after another message in it failed sends the same callback again.
    assert {report["status"] for report in reports} == {"delivered"}


def test_late_report_still_settles_an_unconfirmed_sms(base_url, api_key, settings, engine, http_receiver, worker):
    text = unique("sms")
    request_uid = send(base_url, api_key, sms_body("020 5555 1234", content=text), path="/send/sms/single")
    [sms] = wait_until(lambda: [body for body in http_receiver.at("/sms") if body["text"] == text], message="sms at the gateway")
    wait_until(lambda: status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}, message="sms sent")
    requeue_due(engine, settings=settings.model_copy(update={"sms_delivery_report_timeout_seconds": 0}))

    response = httpx.post(f"{base_url}/callback/sms/delivery-report", json={"reference": sms["reference"], "status": "undelivered"},
                          headers={"Authorization": f"Bearer {settings.sms_delivery_report_token}"})

    assert response.status_code == 204
    assert status(base_url, api_key, request_uid, "bounced", path="/status/sms") == {"bounced": 1}
    statuses = [event["status"] for event in history(base_url, api_key, request_uid, channel="sms")["messages"][0]["history"]]
    assert statuses[-2:] == ["unconfirmed", "bounced"]


def test_sent_sms_stays_processing_before_the_timeout(base_url, api_key, settings, engine, worker):
    request_uid = send(base_url, api_key, sms_body("020 5555 1234"), path="/send/sms/single")
    wait_until(lambda: status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}, message="sms sent")

    requeue_due(engine, settings=settings.model_copy(update={"sms_delivery_report_timeout_seconds": 3600}))

    assert status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}
