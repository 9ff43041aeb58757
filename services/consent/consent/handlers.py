"""Reactions to events from RabbitMQ: routing-key pattern -> handler(envelope, uow).

Consent events are owed to the registered webhooks: the handler records one `webhook_push` per subscribed webhook
in the consumer's transaction; the delivery loop (consent/webhook_delivery.py) pushes them with backoff.
"""
from pydantic.alias_generators import to_camel
from sqlmodel import Session, col, select

from consent.chain import canonical_json
from consent.models import Webhook, WebhookEvent, WebhookEventSubscription, WebhookPush
from kernel.consumer import Handler
from kernel.db import UnitOfWork
from kernel.events import Envelope


def _webhooks_for(session: Session, event_type: str) -> list[Webhook]:
    subscribed = select(WebhookEventSubscription.webhook_id).join(
        WebhookEvent, WebhookEvent.id == WebhookEventSubscription.webhook_event_id).where(WebhookEvent.name == event_type)
    with_any = select(WebhookEventSubscription.webhook_id)
    return list(session.exec(select(Webhook).where(
        col(Webhook.disabled).is_(False),
        col(Webhook.id).in_(subscribed) | col(Webhook.id).not_in(with_any)).order_by(col(Webhook.id))))


def queue_webhook_pushes(envelope: Envelope, uow: UnitOfWork) -> None:
    data = {to_camel(key): value for key, value in envelope.data.items()}  # the API's camelCase
    body = canonical_json({"id": envelope.id, "type": envelope.type, "time": envelope.time.isoformat(), "data": data})
    for webhook in _webhooks_for(uow.session, envelope.type):
        uow.session.add(WebhookPush(webhook_id=webhook.id, event_id=envelope.id, event_type=envelope.type, body=body))


HANDLERS: dict[str, Handler] = {"consent.record.*": queue_webhook_pushes}
