"""Consent events reach registered webhooks by signed HTTP push, through the outbox, RabbitMQ, the consumer and its
delivery loop, retried with exponential backoff."""
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from consent import webhook_delivery
from consent.enums import PushStatus
from consent.handlers import HANDLERS
from consent.models import WebhookDelivery, WebhookPush
from kernel.consumer import Consumer
from kernel.relay import run as run_relay
from kernel.testing import running, serve, wait_until
from .api import create_agreement, create_policy, give_signed_consent, ok


class Receiver:
    """A third party's webhook endpoint; `failures` answers that many first pushes of each event with a 500."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.received: list[tuple[dict, bytes]] = []
        self.refused: dict[str, int] = {}

    def app(self):
        async def hook(request):
            body = await request.body()
            delivery = request.headers["x-consentbb-delivery"]
            if self.refused.get(delivery, 0) < self.failures:
                self.refused[delivery] = self.refused.get(delivery, 0) + 1
                return JSONResponse({"error": "busy"}, status_code=500)
            self.received.append((dict(request.headers), body))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def events_for(self, record_id: str) -> list[tuple[dict, bytes]]:
        return [(h, b) for h, b in self.received if json.loads(b)["data"]["consentRecordId"] == record_id]


RETRY_BASE_SECONDS = 0.4


@pytest.fixture(scope="module")
def push_settings(settings):
    return settings.model_copy(update={"webhook_retry_base_seconds": RETRY_BASE_SECONDS, "webhook_retry_max_seconds": 5.0,
                                       "webhook_poll_seconds": 0.05})


@pytest.fixture(scope="module")
def workers(settings, push_settings, engine):
    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="consent", source="consent",
                        handlers=HANDLERS, max_retries=5, retry_delay_ms=settings.consumer_retry_delay_ms)
    consumer.declare()  # bound before anything is published: the broker drops what no queue takes
    with running(lambda stop: run_relay(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(consumer.run), running(lambda stop: webhook_delivery.run(push_settings, engine, stop)):
        yield


@pytest.fixture
def webhook(client, admin):
    """Registers a webhook for a receiver; removed afterwards so later tests' events don't go to a stopped server."""
    created = []

    def register(url: str, *, events: list[str] = ()) -> dict:
        secret = uuid.uuid4().hex + uuid.uuid4().hex
        body = ok(client.post("/config/webhook/", headers=admin, json={"webhook": {
            "payloadUrl": url, "contentType": "application/json", "secretKey": secret, "subscribedEvents": list(events)}}))
        created.append(body["webhook"]["id"])
        return body["webhook"]

    yield register
    for webhook_id in created:
        client.delete(f"/config/webhook/{webhook_id}/", headers=admin)


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]


def _expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_receives_given_and_withdrawn_with_a_valid_signature(client, workers, webhook, agreement, new_citizen):
    receiver = Receiver()
    with serve(receiver.app()) as url:
        registered = webhook(url + "/hook")
        citizen = new_citizen()
        record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
        ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                      json={"consentRecord": {"optIn": False}}))

        events = wait_until(lambda: len(receiver.events_for(record_id)) == 2 and receiver.events_for(record_id), message="two events")

    assert [json.loads(body)["type"] for _, body in events] == ["consent.record.given", "consent.record.withdrawn"]
    for headers, body in events:
        assert headers["x-consentbb-signature"] == _expected_signature(registered["secretKey"], body)
        assert json.loads(body)["data"] == {"consentRecordId": record_id, "dataAgreementId": agreement["id"],
                                            "individualId": citizen.individual_id}


def test_a_failed_push_is_retried_with_growing_delays_and_every_attempt_is_logged(client, engine, workers, webhook, agreement,
                                                                                 new_citizen):
    receiver = Receiver(failures=2)
    with serve(receiver.app()) as url:
        registered = webhook(url + "/hook")
        citizen = new_citizen()
        record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]

        [(headers, _)] = wait_until(lambda: receiver.events_for(record_id), message="the pushed event after two failures")

    with Session(engine) as session:
        attempts = session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == registered["id"],
                                                              WebhookDelivery.event_id == headers["x-consentbb-delivery"])
                                .order_by(col(WebhookDelivery.attempt))).all()
        push = session.exec(select(WebhookPush).where(WebhookPush.webhook_id == registered["id"])).one()
    assert [(a.attempt, a.status_code, a.delivered) for a in attempts] == [(1, 500, False), (2, 500, False), (3, 200, True)]
    first_wait = (attempts[1].attempted_at - attempts[0].attempted_at).total_seconds()
    second_wait = (attempts[2].attempted_at - attempts[1].attempted_at).total_seconds()
    assert first_wait >= RETRY_BASE_SECONDS and second_wait >= 2 * RETRY_BASE_SECONDS  # base, then twice the base
    assert (push.status, push.attempts) == (PushStatus.delivered.value, 3)


def test_retry_delays_double_up_to_the_cap():
    delays = [webhook_delivery.retry_delay(n, base=5, cap=60) for n in range(1, 7)]

    assert delays == [5, 10, 20, 40, 60, 60]


def test_a_push_that_fails_after_the_give_up_window_is_given_up(engine, push_settings, webhook):
    receiver = Receiver(failures=1000)
    now = datetime.now(timezone.utc)
    settings = push_settings.model_copy(update={"webhook_give_up_after_seconds": 3600})
    with serve(receiver.app()) as url:
        registered = webhook(url + "/hook")
        # Not due (no loop picks it up); created two hours ago, so the next try would fall outside the window.
        push = WebhookPush(webhook_id=registered["id"], event_id=str(uuid.uuid4()), event_type="consent.record.given", body="{}",
                           created_at=now - timedelta(hours=2), next_attempt_at=now + timedelta(days=1))
        with Session(engine, expire_on_commit=False) as session, httpx.Client(timeout=5) as http:
            session.add(push)
            session.commit()

            delivery = webhook_delivery.attempt(session, push, settings, http, now=now)
            session.commit()

    assert (delivery.status_code, delivery.delivered) == (500, False)
    assert (push.status, push.attempts) == (PushStatus.given_up.value, 1)


def test_a_webhook_gets_only_the_events_it_subscribed_to(client, workers, webhook, agreement, new_citizen):
    receiver = Receiver()
    with serve(receiver.app()) as url:
        webhook(url + "/hook", events=["consent.record.withdrawn"])
        citizen = new_citizen()
        record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
        ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                      json={"consentRecord": {"optIn": False}}))

        events = wait_until(lambda: receiver.events_for(record_id), message="the withdrawn event")

    assert [json.loads(body)["type"] for _, body in events] == ["consent.record.withdrawn"]
