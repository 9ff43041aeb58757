"""Pub/sub: event schemas that can be checked without fetching anything, push addresses, and delivery (the room's
events pushed to subscribers by the consumer, every attempt logged)."""
import logging

import httpx
import pika
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from sqlmodel import Session, select

from gateway.events import PushRequested
from gateway.models import Delivery, DeliveryAttempt, PublishedEvent, Subscription, utcnow
from gateway.settings import GatewaySettings
from kernel import bus, safejson
from kernel.db import UnitOfWork
from kernel.egress import Target, UrlRefused, target
from kernel.events import Envelope
from kernel.httpclient import shared_client
from kernel.jsonschemas import ref_problem, slow_pattern_problem

log = logging.getLogger(__name__)


class PushFailed(Exception):
    """Raised so the consumer retries the push after its retry delay."""


# --- event schemas ---------------------------------------------------------------------------------------------

def event_validator(schema: dict) -> Draft202012Validator:
    """A validator whose $refs resolve only inside the schema (and to the meta-schemas jsonschema ships with): without a
    registry of its own, jsonschema would fetch any other URL, file:// included, when an event reaches the $ref."""
    return Draft202012Validator(schema, registry=Registry())


def schema_problem(schema: dict) -> str | None:
    """Why events could not be checked against this schema, or None: it is no JSON Schema, its $refs point outside it
    (nothing is ever fetched) or loop onto the same value (kernel.jsonschemas.ref_problem), or a pattern could make
    checking one event take seconds of CPU (kernel.jsonschemas.slow_pattern_problem)."""
    if not safejson.finite(schema):
        return "NaN and infinite numbers are not JSON"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    except RecursionError:
        return "nested too deeply"
    return ref_problem(schema) or slow_pattern_problem(schema)


# --- push addresses --------------------------------------------------------------------------------------------

# Subscribers choose the address the gateway posts to: checked as every caller-chosen URL is (kernel.egress).
PushUrlRefused, PushTarget = UrlRefused, Target


def push_target(url: str, *, allow_private: bool) -> Target:
    """The target of a subscriber's pushUrl; raises PushUrlRefused."""
    return target(url, allow_private=allow_private)


# --- delivery --------------------------------------------------------------------------------------------------

def is_expired(event: PublishedEvent, subscription: Subscription) -> bool:
    """Past the subscription's TTL (seconds since the room received the event)."""
    return (utcnow() - event.received_at).total_seconds() > subscription.ttl


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
        if subscription is None or subscription.ended_at is not None:
            return  # unsubscribed: its pending deliveries were stopped then
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
            # Checked again: the host may resolve to an internal address by now (then the attempt fails and is retried).
            target = push_target(subscription.push_url, allow_private=settings.push_private_allowed)
            response = shared_client().post(target.url, json=event_item(event, publisher_id(event.publisher)), headers=target.headers,
                                            extensions=target.extensions, timeout=settings.push_timeout_seconds)
            status_code = response.status_code
            if 200 <= response.status_code < 300:
                _record_attempt(uow.session.get_bind(), delivery.id, attempt=attempt, outcome="delivered", status_code=status_code,
                                error="", final_status="delivered")
                push_next(uow, subscription)
                return
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        except PushUrlRefused as exc:
            error = f"pushUrl refused: {exc}"
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
