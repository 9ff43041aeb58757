"""Pushing consent events to webhooks: each owed push is a `webhook_push` row, retried with exponential backoff.

The consumer's handler only records what is owed (in its own transaction, so no event is lost); a loop in the
consumer process pushes what is due, logs every attempt as a `webhook_delivery` row and schedules the next one:
base * 2^(n-1) seconds after the n-th failure, capped, until the give-up window since the event has passed.
"""
import hashlib
import hmac
import logging
import threading
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from kernel.httpclient import new_client
from consent.enums import PushStatus
from consent.models import Webhook, WebhookDelivery, WebhookPush
from consent.settings import ConsentSettings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ConsentBB-Signature"
BATCH_SIZE = 50


def signature_header(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(failures: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1-based): base, 2*base, 4*base, ... at most cap."""
    return min(cap, base * 2 ** (failures - 1))


def attempt(session: Session, push: WebhookPush, settings: ConsentSettings, http: httpx.Client, *, now: datetime) -> WebhookDelivery:
    """One push of `push` (whose row the caller holds locked); logs it and moves the push to its next state."""
    webhook = session.get(Webhook, push.webhook_id)
    push.attempts += 1
    delivery = WebhookDelivery(webhook_id=push.webhook_id, event_id=push.event_id, event_type=push.event_type, attempt=push.attempts,
                               attempted_at=now)  # the time the backoff is counted from
    if webhook is None or webhook.disabled:
        push.status, delivery.error = PushStatus.given_up.value, "webhook removed or disabled"
    else:
        body = push.body.encode()
        try:
            response = http.post(webhook.payload_url, content=body, headers={
                "Content-Type": webhook.content_type, "X-ConsentBB-Event": push.event_type, "X-ConsentBB-Delivery": push.event_id,
                SIGNATURE_HEADER: signature_header(webhook.secret_key, body)})
            delivery.status_code, delivery.delivered = response.status_code, response.is_success
        except httpx.HTTPError as exc:
            delivery.error = type(exc).__name__
        if delivery.delivered:
            push.status = PushStatus.delivered.value
        else:
            next_at = now + timedelta(seconds=retry_delay(push.attempts, base=settings.webhook_retry_base_seconds,
                                                          cap=settings.webhook_retry_max_seconds))
            if next_at - push.created_at > timedelta(seconds=settings.webhook_give_up_after_seconds):
                push.status = PushStatus.given_up.value
                log.warning("gave up pushing event %s to webhook %s after %d attempts", push.event_id, push.webhook_id, push.attempts)
            else:
                push.next_attempt_at = next_at
                log.info("webhook %s did not take event %s (attempt %d); next try at %s", push.webhook_id, push.event_id,
                         push.attempts, next_at.isoformat())
    session.add_all([push, delivery])
    return delivery


def deliver_due(engine: Engine, settings: ConsentSettings, http: httpx.Client) -> int:
    """Push every push that is due, each in its own transaction; returns how many were attempted."""
    done = 0
    while True:
        with Session(engine) as session:
            now = datetime.now(timezone.utc)
            # SKIP LOCKED: several consumer replicas share the work without pushing the same event twice at once.
            push = session.exec(select(WebhookPush).where(WebhookPush.status == PushStatus.pending.value,
                                                          col(WebhookPush.next_attempt_at) <= now)
                                .order_by(col(WebhookPush.next_attempt_at), col(WebhookPush.created_at))
                                .limit(1).with_for_update(skip_locked=True)).first()
            if push is None:
                return done
            attempt(session, push, settings, http, now=now)
            session.commit()
            done += 1


def run(settings: ConsentSettings, engine: Engine, stop: threading.Event) -> None:
    """The delivery loop of the consumer process (`python -m consent consumer`)."""
    with new_client(timeout=settings.webhook_timeout_seconds) as http:
        while not stop.is_set():
            try:
                deliver_due(engine, settings, http)
            except Exception:
                log.exception("webhook delivery round failed; retrying after the poll interval")
            stop.wait(settings.webhook_poll_seconds)
