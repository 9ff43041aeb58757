"""Pub/sub delivery: the room's events pushed to subscribers by the consumer, every attempt logged."""
import logging
from datetime import timezone

import httpx
import pika
from sqlmodel import Session, select

from gateway.events import PushRequested
from gateway.models import Delivery, DeliveryAttempt, PublishedEvent, Subscription, utcnow
from gateway.settings import GatewaySettings
from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope

log = logging.getLogger(__name__)


class PushFailed(Exception):
    """Raised so the consumer retries the push after its retry delay."""


def is_expired(event: PublishedEvent, subscription: Subscription) -> bool:
    """Past the subscription's TTL (seconds since the room received the event)."""
    received = event.received_at if event.received_at.tzinfo else event.received_at.replace(tzinfo=timezone.utc)
    return (utcnow() - received).total_seconds() > subscription.ttl


def event_item(event: PublishedEvent, publisher_id: dict) -> dict:
    return {"id": event.id, "sequence": event.seq, "publisherId": publisher_id, "eventType": event.event_type, "event": event.payload}


def publisher_id(name: str) -> dict:
    instance, member_class, member_code, application = (name.split("/") + ["", "", "", ""])[:4]
    return {"instanceId": instance, "memberClass": member_class, "memberCode": member_code, "applicationCode": application}


def _record_attempt(engine, delivery_id: str, *, attempt: int, outcome: str, status_code: int | None, error: str, final_status: str | None) -> None:
    # Its own transaction: a failed attempt is logged even though the handler then raises and rolls back.
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.attempts = attempt
        delivery.updated_at = utcnow()
        if final_status:
            delivery.status = final_status
        session.add(delivery)
        session.add(DeliveryAttempt(delivery_id=delivery_id, attempt=attempt, outcome=outcome, status_code=status_code, error=error))
        session.commit()


def push_handler(settings: GatewaySettings):
    def push_event(envelope: Envelope, uow: UnitOfWork) -> None:
        """POST the event to the subscriber; on failure log the attempt and raise for a retry, until the last one drops it."""
        delivery = uow.session.get(Delivery, envelope.data["delivery_id"])
        if delivery is None or delivery.status != "pending":
            return  # delivered, dropped or stopped already
        event = uow.session.exec(select(PublishedEvent).where(PublishedEvent.id == delivery.event_id)).one()
        subscription = uow.session.get(Subscription, delivery.subscription_id)
        if event.stopped or is_expired(event, subscription):
            delivery.status = "stopped" if event.stopped else "expired"
            uow.session.add(delivery)
            return
        attempt = delivery.attempts + 1
        status_code, error = None, ""
        try:
            response = httpx.post(subscription.push_url, json=event_item(event, publisher_id(event.publisher)),
                                  timeout=settings.push_timeout_seconds)
            status_code = response.status_code
            if 200 <= response.status_code < 300:
                _record_attempt(uow.session.get_bind(), delivery.id, attempt=attempt, outcome="delivered", status_code=status_code,
                                error="", final_status="delivered")
                return
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        last = attempt >= settings.push_max_attempts
        _record_attempt(uow.session.get_bind(), delivery.id, attempt=attempt, outcome="dropped" if last else "failed",
                        status_code=status_code, error=error, final_status="dropped" if last else None)
        if last:
            log.warning("delivery %s dropped after %d attempts", delivery.id, attempt)
            return
        try:
            schedule_retry(settings, delivery_id=delivery.id, attempt=attempt)
        except (pika.exceptions.AMQPError, OSError) as exc:
            # The delay queue is out of reach: the consumer's own retry queue brings the push back instead.
            raise PushFailed(f"push of delivery {delivery.id} failed ({error}) and could not be delayed") from exc

    return push_event


def delay_queue(delay_ms: int) -> str:
    # Named by its delay: a changed backoff setting gets new queues instead of clashing with the old ones' TTL.
    return f"gateway.push.delay.{delay_ms}ms"


def schedule_retry(settings: GatewaySettings, *, delivery_id: str, attempt: int) -> None:
    """Park a new push request in the delay queue of this attempt; RabbitMQ hands it back after backoff * 2^(attempt-1)."""
    delay_ms = int(settings.push_backoff_seconds * 1000 * 2 ** (attempt - 1))
    envelope = Envelope.new(source=settings.service_name, type=PushRequested.type, data={"delivery_id": delivery_id})
    connection = bus.connect(settings.amqp_url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(queue=delay_queue(delay_ms), durable=True, arguments={
            **bus.QUORUM, "x-message-ttl": delay_ms, "x-dead-letter-exchange": settings.events_exchange,
            "x-dead-letter-routing-key": PushRequested.type, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
        })
        channel.basic_publish("", delay_queue(delay_ms), envelope.to_bytes(),
                              pika.BasicProperties(message_id=envelope.id, type=envelope.type, delivery_mode=pika.DeliveryMode.Persistent,
                                                   content_type="application/json", headers={}))
    finally:
        connection.close()
