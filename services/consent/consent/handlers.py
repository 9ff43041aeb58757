"""Reactions to events from RabbitMQ: routing-key pattern -> handler(envelope, uow).

Consent events are pushed to the registered webhooks. Each attempt is logged in its own transaction (so a failed
one is kept when the handler raises), and a failed push raises, so the kernel consumer retries the message
after its retry delay (then dead-letters it); webhooks that already got it are not pushed to again.
"""
import hashlib
import hmac
import logging

import httpx
from pydantic.alias_generators import to_camel
from sqlmodel import Session, col, func, select

from consent.chain import canonical_json
from consent.models import Webhook, WebhookDelivery, WebhookEvent, WebhookEventSubscription
from kernel.consumer import Handler
from kernel.db import UnitOfWork
from kernel.events import Envelope

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ConsentBB-Signature"
TIMEOUT_SECONDS = 5.0


class WebhookPushFailed(Exception):
    pass


def signature_header(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhooks_for(session: Session, event_type: str) -> list[Webhook]:
    subscribed = select(WebhookEventSubscription.webhook_id).join(
        WebhookEvent, WebhookEvent.id == WebhookEventSubscription.webhook_event_id).where(WebhookEvent.name == event_type)
    with_any = select(WebhookEventSubscription.webhook_id)
    return list(session.exec(select(Webhook).where(
        col(Webhook.disabled).is_(False),
        col(Webhook.id).in_(subscribed) | col(Webhook.id).not_in(with_any)).order_by(col(Webhook.id))))


def push_to_webhooks(envelope: Envelope, uow: UnitOfWork) -> None:
    engine = uow.session.get_bind()
    data = {to_camel(key): value for key, value in envelope.data.items()}  # the API's camelCase
    body = canonical_json({"id": envelope.id, "type": envelope.type, "time": envelope.time.isoformat(), "data": data}).encode()
    failed = []
    with Session(engine) as log_session:
        for webhook in _webhooks_for(log_session, envelope.type):
            attempts = log_session.exec(select(WebhookDelivery.delivered, func.count()).where(
                WebhookDelivery.event_id == envelope.id, WebhookDelivery.webhook_id == webhook.id)
                .group_by(WebhookDelivery.delivered)).all()
            if any(delivered for delivered, _ in attempts):
                continue
            attempt = WebhookDelivery(webhook_id=webhook.id, event_id=envelope.id, event_type=envelope.type,
                                      attempt=sum(count for _, count in attempts) + 1)
            try:
                response = httpx.post(webhook.payload_url, content=body, timeout=TIMEOUT_SECONDS, headers={
                    "Content-Type": webhook.content_type, "X-ConsentBB-Event": envelope.type,
                    "X-ConsentBB-Delivery": envelope.id, SIGNATURE_HEADER: signature_header(webhook.secret_key, body)})
                attempt.status_code, attempt.delivered = response.status_code, response.is_success
            except httpx.HTTPError as exc:
                attempt.error = type(exc).__name__
            log_session.add(attempt)
            log_session.commit()
            if not attempt.delivered:
                log.warning("webhook %s did not take event %s (attempt %d)", webhook.id, envelope.id, attempt.attempt)
                failed.append(webhook.id)
    if failed:
        raise WebhookPushFailed(f"{len(failed)} webhook(s) failed for event {envelope.id}")


HANDLERS: dict[str, Handler] = {"consent.record.*": push_to_webhooks}
