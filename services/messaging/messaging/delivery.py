"""The delivery worker: takes message ids from the emergency lane first, then the routine lane, and delivers them.

Retries live in the database (status deferred, next_attempt_at), not in broker TTLs: a scheduler step re-requests
delivery of due messages through the outbox, and gives up when the retry window (24 h) has passed.
"""
import collections
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pika
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope
from messaging import crypto, retention
from messaging.channels import DeliveryError, Outgoing, Sender, default_senders
from messaging.enums import Channel, MessageStatus
from messaging.events import EmergencyMessageAccepted, MessageBounced, MessageDelivered, MessageFailed, RoutineMessageAccepted, accepted_event
from messaging.models import Message, SendRequest
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)

EMERGENCY_QUEUE = "messaging.delivery.emergency"
ROUTINE_QUEUE = "messaging.delivery.routine"
LANES = ((EMERGENCY_QUEUE, EmergencyMessageAccepted.type), (ROUTINE_QUEUE, RoutineMessageAccepted.type))  # in the order served
ATTEMPTS_HEADER = "x-attempts"


def declare_topology(channel, settings: MessagingSettings) -> None:
    """Both lanes with their retry and dead-letter queues; declared before anything is published to them."""
    for queue, routing_key in LANES:
        bus.declare_consumer_queues(channel, exchange=settings.events_exchange, queue=queue, bindings=[routing_key],
                                    retry_delay_ms=settings.consumer_retry_delay_ms)


def ensure_topology(settings: MessagingSettings) -> None:
    connection = bus.connect(settings.amqp_url)
    try:
        declare_topology(connection.channel(), settings)
    finally:
        connection.close()


def backoff(attempts: int, settings: MessagingSettings) -> timedelta:
    return timedelta(seconds=min(settings.retry_base_seconds * 2 ** (attempts - 1), settings.retry_max_interval_seconds))


def _locked(query, engine):
    # Row lock for the whole send: two workers never send the same message at once (PostgreSQL; SQLite has one writer).
    return query.with_for_update(skip_locked=True) if engine.dialect.name == "postgresql" else query


def deliver(engine, *, settings: MessagingSettings, senders: dict[str, Sender], message_id: str) -> str | None:
    """Deliver one message if it is still due; returns the resulting status, None if there was nothing to do."""
    now = datetime.now(timezone.utc)
    with UnitOfWork(engine, source=settings.service_name) as uow:
        message = uow.session.exec(_locked(select(Message).where(Message.id == message_id), engine)).first()
        if message is None or message.status != MessageStatus.queued or message.recipient_enc is None:
            return None  # already handled, held by another worker, scheduled for later, or purged
        request = uow.session.get(SendRequest, message.request_id)
        outgoing = Outgoing(
            message_id=message.id,
            recipient=crypto.decrypt(settings.messaging_secret, message.recipient_enc),
            sender=crypto.decrypt(settings.messaging_secret, request.sender_enc) if request.sender_enc else None,
            content=crypto.decrypt(settings.messaging_secret, request.content_enc),
        )
        message.attempts += 1
        message.updated_at = now
        try:
            message.provider_ref = senders[request.channel].send(outgoing)
            message.last_error, message.next_attempt_at = None, None
            if request.channel == Channel.sms and settings.sms_delivery_report_token:
                message.status, event = MessageStatus.sent, None  # settled by the gateway's delivery report
            else:
                message.status, event = MessageStatus.delivered, MessageDelivered
        except DeliveryError as exc:
            message.last_error = exc.code
            if exc.permanent:
                message.status, message.next_attempt_at, event = MessageStatus.bounced, None, MessageBounced
            elif now - message.created_at >= timedelta(seconds=settings.retry_window_seconds):
                message.status, message.next_attempt_at, event = MessageStatus.failed, None, MessageFailed
            else:
                message.status, message.next_attempt_at, event = MessageStatus.deferred, now + backoff(message.attempts, settings), None
        if event is not None and request.callback_uri:
            uow.emit(event(message_id=message.id, request_id=request.id))
        uow.commit()
        log.info("delivery attempted", extra={"fields": {"message_id": message.id, "status": str(message.status),
                                                         "attempt": message.attempts, "error": message.last_error}})
        return message.status


def requeue_due(engine, *, settings: MessagingSettings, limit: int = 500) -> int:
    """Request delivery again for deferred messages whose time has come, and for queued ones whose request seems lost
    (a duplicate request is harmless: deliver() skips what is no longer queued); fail those past the retry window."""
    now = datetime.now(timezone.utc)
    window_start = now - timedelta(seconds=settings.retry_window_seconds)
    stuck_since = now - timedelta(seconds=settings.requeue_stuck_after_seconds)
    with UnitOfWork(engine, source=settings.service_name) as uow:
        def due(*conditions):
            return uow.session.exec(_locked(select(Message, SendRequest).join(SendRequest, SendRequest.id == Message.request_id)
                                            .where(*conditions).limit(limit), engine)).all()

        retry = due(Message.status == MessageStatus.deferred, Message.next_attempt_at <= now)
        stuck = due(Message.status == MessageStatus.queued, Message.updated_at < stuck_since, Message.created_at >= window_start)
        expired = due(Message.status == MessageStatus.queued, Message.created_at < window_start)
        for message, request in (*retry, *stuck):
            message.status, message.updated_at = MessageStatus.queued, now
            uow.emit(accepted_event(message_id=message.id, priority=request.priority))
        for message, request in expired:
            # Queued for longer than the retry window (e.g. no worker ran): the spec says failed, out of the queue.
            message.status, message.updated_at = MessageStatus.failed, now
            message.last_error = message.last_error or "expired_in_queue"  # keep the provider's answer if there was one
            if request.callback_uri:
                uow.emit(MessageFailed(message_id=message.id, request_id=request.id))
        uow.commit()
        return len(retry) + len(stuck) + len(expired)


class DeliveryWorker:
    """Consumes both lanes into local buffers and always serves the emergency buffer first, so emergencies overtake
    a routine backlog (RabbitMQ pushes at most `worker_prefetch` unacked messages per lane)."""

    def __init__(self, engine, settings: MessagingSettings, senders: dict[str, Sender] | None = None):
        self.engine, self.settings = engine, settings
        self.senders = senders or default_senders(settings)
        self.buffers: dict[str, collections.deque] = {}
        self.next_schedule = 0.0
        self.next_purge = 0.0

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        backoff_seconds = 0.5
        try:
            while not stop.is_set():
                connection = None
                try:
                    connection = bus.connect(self.settings.amqp_url)
                    channel = connection.channel()
                    declare_topology(channel, self.settings)
                    channel.confirm_delivery()
                    self._consume_lanes(connection, channel)
                    backoff_seconds = 0.5
                    while not stop.is_set():
                        self._maintain()
                        connection.process_data_events(time_limit=0)  # take in whatever has arrived, emergencies included
                        if not self._serve_one(channel):
                            connection.process_data_events(time_limit=self.settings.worker_idle_seconds)
                except (pika.exceptions.AMQPError, OSError) as exc:
                    log.warning("broker unavailable, reconnecting in %.1fs: %s", backoff_seconds, type(exc).__name__)
                    stop.wait(backoff_seconds)
                    backoff_seconds = min(backoff_seconds * 2, 10)
                except DBAPIError as exc:
                    log.warning("database unavailable, retrying in %.1fs: %s", backoff_seconds, type(exc).__name__)
                    stop.wait(backoff_seconds)
                    backoff_seconds = min(backoff_seconds * 2, 10)
                finally:
                    if connection is not None and connection.is_open:
                        try:
                            connection.close()  # unacked messages go back to their queue
                        except Exception:
                            pass
        finally:
            for sender in self.senders.values():
                sender.close()

    def _maintain(self) -> None:
        """Scheduling and retention ride along with delivery; a failure here must not stop deliveries."""
        now = time.monotonic()
        try:
            if now >= self.next_schedule:
                self.next_schedule = now + self.settings.scheduler_poll_seconds
                requeue_due(self.engine, settings=self.settings)
            if now >= self.next_purge:
                self.next_purge = now + 3600
                retention.purge_expired(self.engine, settings=self.settings)
        except DBAPIError:
            raise
        except Exception as exc:
            log.error("scheduler step failed", extra={"fields": {"error": type(exc).__name__}})

    def _consume_lanes(self, connection, channel) -> None:
        prefetch = self.settings.worker_prefetch
        emergency_backlog = min(channel.queue_declare(EMERGENCY_QUEUE, passive=True).method.message_count, prefetch)
        self.buffers = {queue: collections.deque() for queue, _ in LANES}
        channel.basic_qos(prefetch_count=prefetch)  # per consumer, so per lane
        for queue, _ in LANES:
            channel.basic_consume(queue, lambda ch, method, properties, body, queue=queue: self.buffers[queue].append((method, properties, body)))
        # Both lanes are pushed at once on start; wait (briefly) for the waiting emergencies before serving routine ones.
        deadline = time.monotonic() + 2.0
        while len(self.buffers[EMERGENCY_QUEUE]) < emergency_backlog and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.01)

    def _serve_one(self, channel) -> bool:
        for queue, _ in LANES:
            if self.buffers[queue]:
                method, properties, body = self.buffers[queue].popleft()
                self._handle(channel, queue, method, properties, body)
                return True
        return False

    def _handle(self, channel, queue: str, method, properties, body: bytes) -> None:
        try:
            envelope = Envelope.from_bytes(body)
            deliver(self.engine, settings=self.settings, senders=self.senders, message_id=envelope.data["message_id"])
        except DBAPIError:
            channel.basic_nack(method.delivery_tag, requeue=True)  # not the message's fault; keep its retries
            raise
        except Exception as exc:
            self._retry_or_dead_letter(channel, queue, properties, body, exc)
        channel.basic_ack(method.delivery_tag)

    def _retry_or_dead_letter(self, channel, queue: str, properties, body: bytes, exc: Exception) -> None:
        headers = properties.headers or {}
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        target = bus.dead_letter_queue(queue) if attempts > self.settings.consumer_max_retries else bus.retry_queue(queue)
        log.error("delivery request failed", extra={"fields": {"amqp_message_id": properties.message_id, "queue": queue, "error": type(exc).__name__, "to": target}})
        channel.basic_publish(exchange="", routing_key=target, body=body, properties=pika.BasicProperties(
            message_id=properties.message_id, type=properties.type, content_type=properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent, headers={**headers, ATTEMPTS_HEADER: attempts, "x-error": type(exc).__name__}))


def run_worker(settings: MessagingSettings, engine, stop: threading.Event) -> None:
    DeliveryWorker(engine, settings).run(stop)
