"""The delivery worker: takes message ids from the emergency lane first, then the routine lane, and delivers them in
batches (one provider connection, one commit, then the acks), journaling each hand-over as it happens.

Retries live in the database (status deferred, next_attempt_at), not in broker TTLs: a scheduler step re-requests
delivery of due messages through the outbox, and gives up when the retry window (24 h) has passed.
"""
import collections
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pika
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope
from messaging import crypto, history, retention
from messaging.channels import DeliveryError, Outgoing, Sender, default_senders
from messaging.enums import Channel, MessageStatus
from messaging.events import EmergencyMessageAccepted, MessageBounced, MessageDelivered, MessageFailed, RoutineMessageAccepted, accepted_event
from messaging.models import Message, MessageStatusEvent, SendRequest
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)

EMERGENCY_QUEUE = "messaging.delivery.emergency"
ROUTINE_QUEUE = "messaging.delivery.routine"
LANES = ((EMERGENCY_QUEUE, EmergencyMessageAccepted.type), (ROUTINE_QUEUE, RoutineMessageAccepted.type))  # in the order served
ATTEMPTS_HEADER = "x-attempts"
HANDED_OVER = (MessageStatus.delivered, MessageStatus.sent)  # the provider took the message


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
    # Row locks for the whole batch: two workers never send the same message at once (PostgreSQL; SQLite has one
    # writer). NO KEY UPDATE still lets the journal insert history rows that reference the locked messages.
    # Only the message rows: a batch's request row is shared by the other workers' messages of the same request.
    return query.with_for_update(skip_locked=True, key_share=True, of=Message) if engine.dialect.name == "postgresql" else query


_JOURNAL_INSERT = insert(MessageStatusEvent)  # built once: compiled once, then only its parameters change


class Journal:
    """History rows a worker commits at once, ahead of its batch's transaction: `sending` before it hands a message to
    the provider, and the provider's acceptance right after. A worker killed mid-batch loses its batch's transaction
    but not these, so its successor settles what was handed over instead of sending it again.

    On PostgreSQL a thread writes them on a connection of its own, in autocommit with synchronous_commit off: a row is
    in the server once written, which is what survives a killed worker, without a disk flush per message (a crash of
    PostgreSQL itself may lose the last few hundred milliseconds; see docs/conformance/messaging.md). The write runs
    while the SMTP envelope is exchanged; `wait` before DATA keeps the acceptance of one message stored before the
    next can be accepted. SQLite allows one writer, so there the rows join the batch's transaction.
    """

    def __init__(self, engine):
        self.connection, self.writer, self.pending = None, None, None
        if engine.dialect.name == "postgresql":
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SET synchronous_commit TO off"))
            connection.detach()  # its session setting must not reach pooled connections
            self.connection = connection
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")

    def submit(self, session, events: list[dict]) -> None:
        """Start writing these rows (after the previous write has finished)."""
        self.wait()
        if not events:
            return
        if self.connection is None:
            session.add_all([MessageStatusEvent(**event) for event in events])
        else:
            self.pending = self.writer.submit(self.connection.execute, _JOURNAL_INSERT, events)

    def wait(self) -> None:
        """Until every submitted row is stored; raises the write's error."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        if self.connection is not None:
            self.writer.shutdown(wait=True)
            try:
                self.connection.close()
            except DBAPIError:
                pass
            self.connection = None


def _event(message: Message, status: MessageStatus, *, detail: str | None = None) -> dict:
    return {"message_id": message.id, "attempt": message.attempts, "status": status, "source": "worker", "detail": detail,
            "at": datetime.now(timezone.utc)}


def _unfinished_attempts(session, messages: list[Message]) -> dict[str, list[MessageStatusEvent]]:
    """Journal rows of attempts whose batch never committed (its worker was killed), per message id."""
    committed = {message.id: message.attempts for message in messages}
    rows = session.scalars(select(MessageStatusEvent).where(
        MessageStatusEvent.message_id.in_(list(committed)),
        MessageStatusEvent.status.in_([MessageStatus.sending, *HANDED_OVER]))).all()
    unfinished: dict[str, list[MessageStatusEvent]] = {}
    for row in rows:
        if row.attempt > committed[row.message_id]:
            unfinished.setdefault(row.message_id, []).append(row)
    return unfinished


class _Contents:
    """Decrypts each request's sender and content once per batch (a batch is mostly one request's recipients)."""

    def __init__(self, secret: str):
        self.secret, self.cache = secret, {}

    def outgoing(self, message: Message, request: SendRequest) -> Outgoing:
        if request.id not in self.cache:
            self.cache[request.id] = (crypto.decrypt(self.secret, request.sender_enc) if request.sender_enc else None,
                                      crypto.decrypt(self.secret, request.content_enc))
        sender, content = self.cache[request.id]
        return Outgoing(message_id=message.id, recipient=crypto.decrypt(self.secret, message.recipient_enc),
                        sender=sender, content=content)


def deliver_batch(engine, *, settings: MessagingSettings, senders: dict[str, Sender], message_ids: list[str],
                  journal: Journal | None = None) -> dict[str, str]:
    """Deliver those of these messages still due, in the given order and in one transaction; returns the resulting
    status per message delivered or settled (skipped: already handled, held by another worker, or purged)."""
    own_journal = journal is None
    journal = journal or Journal(engine)
    results: dict[str, str] = {}
    try:
        with UnitOfWork(engine, source=settings.service_name) as uow:
            session = uow.session
            rows = session.exec(_locked(select(Message, SendRequest).join(SendRequest, SendRequest.id == Message.request_id)
                                        .where(Message.id.in_(message_ids), Message.status == MessageStatus.queued), engine)).all()
            if not rows:
                return results
            position = {message_id: index for index, message_id in enumerate(message_ids)}
            rows = sorted(rows, key=lambda row: position[row[0].id])
            unfinished = _unfinished_attempts(session, [message for message, _ in rows])
            contents = _Contents(settings.messaging_secret)
            pending: list[dict] = []  # the acceptance of the previous message rides with the next one's `sending`
            for message, request in rows:
                if message.recipient_enc is None:
                    continue  # purged by retention; expiry in the queue fails it
                earlier = unfinished.get(message.id, [])
                message.attempts += 1
                handed_over = next((row for row in earlier if row.status in HANDED_OVER), None)
                if handed_over is not None:
                    # A killed worker's provider took it already: record that, do not send it again.
                    message.provider_ref = handed_over.detail
                    results[message.id] = _handed_over(uow, message, request, MessageStatus(handed_over.status), journaled=True)
                    continue
                outgoing = contents.outgoing(message, request)
                # `sending` journaled earlier without an outcome: the killed worker may have handed it over just before
                # it died; SMTP cannot tell, so it is sent again (same Message-ID) and flagged.
                pending.append(_event(message, MessageStatus.sending, detail="possible_duplicate" if earlier else None))
                journal.submit(session, pending)
                pending = []
                try:
                    message.provider_ref = senders[request.channel].send(outgoing, before_handover=journal.wait)
                except DeliveryError as exc:
                    results[message.id] = _refused(uow, message, request, exc, settings)
                    continue
                results[message.id] = _handed_over(uow, message, request, _accepted_status(request, settings))
                pending.append(_event(message, MessageStatus(results[message.id]), detail=message.provider_ref))
            journal.submit(session, pending)
            journal.wait()
            uow.commit()
    finally:
        if own_journal:
            journal.close()
    for message_id, status in results.items():
        log.info("delivery attempted", extra={"fields": {"message_id": message_id, "status": status}})
    return results


def _accepted_status(request: SendRequest, settings: MessagingSettings) -> MessageStatus:
    if request.channel == Channel.sms and settings.sms_delivery_report_token:
        return MessageStatus.sent  # settled by the gateway's delivery report (or its timeout)
    return MessageStatus.delivered


def _handed_over(uow: UnitOfWork, message: Message, request: SendRequest, status: MessageStatus, *,
                 journaled: bool = False) -> MessageStatus:
    """The provider took the message. Its history row is journaled by the caller, or was by a killed worker
    (`journaled`), in which case the settling is recorded here."""
    message.status, message.updated_at = status, datetime.now(timezone.utc)
    message.last_error, message.next_attempt_at = None, None
    if journaled:
        uow.session.add(MessageStatusEvent(**_event(message, status, detail="settled_from_journal")))
    if status == MessageStatus.delivered and request.callback_uri:
        uow.emit(MessageDelivered(message_id=message.id, request_id=request.id))
    return status


def _refused(uow: UnitOfWork, message: Message, request: SendRequest, exc: DeliveryError, settings: MessagingSettings) -> MessageStatus:
    now = datetime.now(timezone.utc)
    message.last_error = exc.code
    if exc.permanent:
        status, message.next_attempt_at, event = MessageStatus.bounced, None, MessageBounced
    elif now - message.created_at >= timedelta(seconds=settings.retry_window_seconds):
        status, message.next_attempt_at, event = MessageStatus.failed, None, MessageFailed
    else:
        status, message.next_attempt_at, event = MessageStatus.deferred, now + backoff(message.attempts, settings), None
    history.transition(uow.session, message, status, source="worker", detail=exc.code, at=now)
    if event is not None and request.callback_uri:
        uow.emit(event(message_id=message.id, request_id=request.id))
    return status


def requeue_due(engine, *, settings: MessagingSettings, limit: int = 500) -> int:
    """Request delivery again for deferred messages whose time has come, and for queued ones whose request seems lost
    (a duplicate request is harmless: deliver_batch() skips what is no longer queued); fail those past the retry window;
    settle sent SMS whose delivery report never came."""
    now = datetime.now(timezone.utc)
    window_start = now - timedelta(seconds=settings.retry_window_seconds)
    stuck_since = now - timedelta(seconds=settings.requeue_stuck_after_seconds)
    unreported_since = now - timedelta(seconds=settings.sms_delivery_report_timeout_seconds)
    with UnitOfWork(engine, source=settings.service_name) as uow:
        def due(*conditions):
            return uow.session.exec(_locked(select(Message, SendRequest).join(SendRequest, SendRequest.id == Message.request_id)
                                            .where(*conditions).limit(limit), engine)).all()

        retry = due(Message.status == MessageStatus.deferred, Message.next_attempt_at <= now)
        stuck = due(Message.status == MessageStatus.queued, Message.updated_at < stuck_since, Message.created_at >= window_start)
        expired = due(Message.status == MessageStatus.queued, Message.created_at < window_start)
        unreported = due(Message.status == MessageStatus.sent, Message.updated_at < unreported_since)
        for message, request in (*retry, *stuck):
            history.transition(uow.session, message, MessageStatus.queued, source="scheduler", at=now)
            uow.emit(accepted_event(message_id=message.id, priority=request.priority))
        for message, request in expired:
            # Queued for longer than the retry window (e.g. no worker ran): the spec says failed, out of the queue.
            message.last_error = message.last_error or "expired_in_queue"  # keep the provider's answer if there was one
            history.transition(uow.session, message, MessageStatus.failed, source="scheduler", detail="expired_in_queue", at=now)
            if request.callback_uri:
                uow.emit(MessageFailed(message_id=message.id, request_id=request.id))
        for message, request in unreported:
            # The gateway took it and the network never reported back: not "processing" forever.
            history.transition(uow.session, message, MessageStatus.unconfirmed, source="scheduler", detail="no_delivery_report", at=now)
            if request.callback_uri:
                uow.emit(MessageDelivered(message_id=message.id, request_id=request.id))
        uow.commit()
        return len(retry) + len(stuck) + len(expired) + len(unreported)


class DeliveryWorker:
    """Consumes both lanes into local buffers and serves them in batches, emergency buffer first, so emergencies
    overtake a routine backlog (RabbitMQ pushes at most `worker_prefetch` unacked messages per lane). A batch is sent
    over one provider connection, committed once, then acked."""

    def __init__(self, engine, settings: MessagingSettings, senders: dict[str, Sender] | None = None):
        self.engine, self.settings = engine, settings
        self.senders = senders or default_senders(settings)
        self.buffers: dict[str, collections.deque] = {}
        self.journal: Journal | None = None
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
                        if not self._serve_batch(channel):
                            connection.process_data_events(time_limit=self.settings.worker_idle_seconds)
                except (pika.exceptions.AMQPError, OSError) as exc:
                    log.warning("broker unavailable, reconnecting in %.1fs: %s", backoff_seconds, type(exc).__name__)
                    stop.wait(backoff_seconds)
                    backoff_seconds = min(backoff_seconds * 2, 10)
                except DBAPIError as exc:
                    self._close_journal()
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
            self._close_journal()
            for sender in self.senders.values():
                sender.close()

    def _close_journal(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None

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

    def _serve_batch(self, channel) -> bool:
        batch = []
        for queue, _ in LANES:
            buffer = self.buffers[queue]
            while buffer and len(batch) < self.settings.worker_batch_size:
                batch.append((queue, *buffer.popleft()))
        if batch:
            self._handle(channel, batch)
        return bool(batch)

    def _handle(self, channel, batch: list[tuple]) -> None:
        requests = []
        for queue, method, properties, body in batch:
            try:
                requests.append(((queue, method, properties, body), Envelope.from_bytes(body).data["message_id"]))
            except Exception as exc:
                self._retry_or_dead_letter(channel, queue, properties, body, exc)
                channel.basic_ack(method.delivery_tag)
        if self.journal is None:
            self.journal = Journal(self.engine)
        try:
            self._deliver([message_id for _, message_id in requests])
        except DBAPIError:
            for (_, method, _, _), _ in requests:
                channel.basic_nack(method.delivery_tag, requeue=True)  # not the messages' fault; keep their retries
            raise
        except Exception:
            # Something in the batch breaks delivery: one by one, so only that message is retried and dead-lettered.
            for (queue, method, properties, body), message_id in requests:
                try:
                    self._deliver([message_id])
                except DBAPIError:
                    channel.basic_nack(method.delivery_tag, requeue=True)
                    raise
                except Exception as exc:
                    self._retry_or_dead_letter(channel, queue, properties, body, exc)
                channel.basic_ack(method.delivery_tag)
            return
        for (_, method, _, _), _ in requests:
            channel.basic_ack(method.delivery_tag)  # after the commit: a crash before it means a redelivery, not a loss

    def _deliver(self, message_ids: list[str]) -> None:
        if message_ids:
            deliver_batch(self.engine, settings=self.settings, senders=self.senders, message_ids=message_ids, journal=self.journal)

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
