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
from kernel.httpclient import shared_client

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


def fifo_head(session: Session, subscription: Subscription) -> Delivery | None:
    """The subscription's earliest pending delivery, in the room's publishing order."""
    return session.exec(select(Delivery).join(PublishedEvent, PublishedEvent.id == Delivery.event_id)
                        .where(Delivery.subscription_id == subscription.id, Delivery.status == "pending")
                        .order_by(PublishedEvent.seq).limit(1)).first()


def push_next(uow: UnitOfWork, subscription: Subscription, *, unless_under_way: bool = False) -> None:
    """FIFO: the event at the head of the subscription's line is put under way (a duplicate request is harmless).
    unless_under_way: not when it has been attempted already, since its retry is scheduled and must keep its backoff."""
    if subscription.fifo and subscription.delivery == "PUSH":
        head = fifo_head(uow.session, subscription)
        if head is not None and not (unless_under_way and head.attempts):
            uow.emit(PushRequested(delivery_id=head.id))


def push_handler(settings: GatewaySettings):
    def push_event(envelope: Envelope, uow: UnitOfWork) -> None:
        """POST the event to the subscriber; on failure log the attempt and schedule a retry after the subscriber's
        backoff, until its last attempt drops it. FIFO subscriptions get one event at a time, in publishing order."""
        # populate_existing: an attempt recorded by an earlier message of this batch was committed in its own session.
        delivery = uow.session.get(Delivery, envelope.data["delivery_id"], populate_existing=True)
        subscription = uow.session.get(Subscription, delivery.subscription_id) if delivery is not None else None
        if subscription is None:
            return  # unsubscribed
        if delivery.status != "pending":
            # Settled already; if the transaction that asked for its successor was rolled back, this asks again.
            push_next(uow, subscription, unless_under_way=True)
            return
        if subscription.fifo:
            head = fifo_head(uow.session, subscription)
            if head is not None and head.id != delivery.id:
                return  # an earlier event is still on its way; this one is requested again when that one settles
        event = uow.session.exec(select(PublishedEvent).where(PublishedEvent.id == delivery.event_id)).one()
        if event.stopped or is_expired(event, subscription):
            delivery.status = "stopped" if event.stopped else "expired"
            uow.session.add(delivery)
            uow.session.flush()
            push_next(uow, subscription)
            return
        attempt = delivery.attempts + 1
        status_code, error = None, ""
        try:
            response = shared_client().post(subscription.push_url, json=event_item(event, publisher_id(event.publisher)),
                                  timeout=settings.push_timeout_seconds)
            status_code = response.status_code
            if 200 <= response.status_code < 300:
                _record_attempt(uow.session.get_bind(), delivery.id, attempt=attempt, outcome="delivered", status_code=status_code,
                                error="", final_status="delivered")
                push_next(uow, subscription)
                return
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        last = attempt >= (subscription.max_attempts or settings.push_max_attempts)
        _record_attempt(uow.session.get_bind(), delivery.id, attempt=attempt, outcome="dropped" if last else "failed",
                        status_code=status_code, error=error, final_status="dropped" if last else None)
        if last:
            log.warning("delivery %s dropped after %d attempts", delivery.id, attempt)
            push_next(uow, subscription)
            return
        backoff = subscription.backoff_seconds or settings.push_backoff_seconds
        try:
            schedule_retry(settings, delivery_id=delivery.id, attempt=attempt, backoff_seconds=backoff)
        except (pika.exceptions.AMQPError, OSError) as exc:
            # The delay queue is out of reach: the consumer's own retry queue brings the push back instead.
            raise PushFailed(f"push of delivery {delivery.id} failed ({error}) and could not be delayed") from exc

    return push_event


def delay_queue(delay_ms: int) -> str:
    # Named by its delay: a changed backoff setting gets new queues instead of clashing with the old ones' TTL.
    return f"gateway.push.delay.{delay_ms}ms"


MAX_DELAY_MS = 24 * 3600 * 1000


def schedule_retry(settings: GatewaySettings, *, delivery_id: str, attempt: int, backoff_seconds: float) -> None:
    """Park a new push request in the delay queue of this attempt; RabbitMQ hands it back after backoff * 2^(attempt-1)."""
    delay_ms = min(int(backoff_seconds * 1000 * 2 ** (attempt - 1)), MAX_DELAY_MS)
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
