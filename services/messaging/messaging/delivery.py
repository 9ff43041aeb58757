"""The delivery worker: takes message ids from the emergency lane first, then the routine lane, and delivers them in
batches (one provider connection, one commit, then the acks), journaling each hand-over as it happens.

Retries live in the database (status deferred, next_attempt_at), not in broker TTLs: a scheduler step re-requests
delivery of due messages through the outbox, and gives up when the retry window (24 h) has passed.
"""
import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pika
import psycopg
from sqlalchemy import insert, update
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

MESSAGE, REQUEST, HISTORY = Message.__table__, SendRequest.__table__, MessageStatusEvent.__table__


def declare_topology(channel, settings: MessagingSettings) -> None:
    """Both lanes with their retry and dead-letter queues; declared before anything is published to them."""
    for queue_name, routing_key in LANES:
        bus.declare_consumer_queues(channel, exchange=settings.events_exchange, queue=queue_name, bindings=[routing_key],
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
# PostgreSQL: plain VALUES, one text per number of rows (one or two), prepared by the server on first use; measured,
# it cost less CPU on both sides than arrays through unnest or SQLAlchemy's executemany.
_JOURNAL_SQL = "INSERT INTO message_status_event (message_id, attempt, status, source, detail, at) VALUES "
_JOURNAL_COLUMNS = ("message_id", "attempt", "status", "source", "detail", "at")


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
        self.connection, self.thread, self.writing = None, None, False
        if engine.dialect.name == "postgresql":
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("SET synchronous_commit TO off")
            # The driver's own cursor: through SQLAlchemy each write cost several times its database round trip in CPU.
            self.cursor = connection.connection.dbapi_connection.cursor()
            connection.detach()  # its session setting must not reach pooled connections
            self.connection = connection
            self.requests: queue.SimpleQueue = queue.SimpleQueue()
            self.outcomes: queue.SimpleQueue = queue.SimpleQueue()
            self.thread = threading.Thread(target=self._write_requests, name="journal", daemon=True)
            self.thread.start()

    def _write_requests(self) -> None:
        while (events := self.requests.get()) is not None:
            try:
                self.cursor.execute(_JOURNAL_SQL + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(events)),
                                    [event[column] for event in events for column in _JOURNAL_COLUMNS], prepare=True)
                self.outcomes.put(None)
            except psycopg.Error as exc:
                # As SQLAlchemy would raise it, so the worker treats it like any database failure.
                self.outcomes.put(DBAPIError.instance(_JOURNAL_SQL, None, exc, psycopg.Error, hide_parameters=True))
            except Exception as exc:
                self.outcomes.put(exc)

    def submit(self, session, events: list[dict]) -> None:
        """Start writing these rows (after the previous write has finished)."""
        self.wait()
        if not events:
            return
        if self.connection is None:
            session.execute(_JOURNAL_INSERT, events)
        else:
            self.writing = True
            self.requests.put(events)

    def wait(self) -> None:
        """Until every submitted row is stored; raises the write's error."""
        if self.writing:
            self.writing = False
            error = self.outcomes.get()
            if error is not None:
                raise error

    def close(self) -> None:
        if self.connection is not None:
            self.requests.put(None)
            self.thread.join()
            try:
                self.connection.close()
            except DBAPIError:
                pass
            self.connection = None


def _event(message_id: str, attempt: int, status: MessageStatus, *, detail: str | None = None) -> dict:
    return {"message_id": message_id, "attempt": attempt, "status": status, "source": "worker", "detail": detail,
            "at": datetime.now(timezone.utc)}


def _unfinished_attempts(session, attempts: dict[str, int]) -> dict[str, list]:
    """Journal rows (message_id, attempt, status, detail) of attempts whose batch never committed (its worker was
    killed), per message id; `attempts` holds each message's committed attempts."""
    rows = session.execute(select(HISTORY.c.message_id, HISTORY.c.attempt, HISTORY.c.status, HISTORY.c.detail).where(
        HISTORY.c.message_id.in_(list(attempts)), HISTORY.c.status.in_([MessageStatus.sending, *HANDED_OVER]))).all()
    unfinished: dict[str, list] = {}
    for row in rows:
        if row.attempt > attempts[row.message_id]:
            unfinished.setdefault(row.message_id, []).append(row)
    return unfinished


class _Contents:
    """Decrypts each request's sender and content once per batch (a batch is mostly one request's recipients)."""

    def __init__(self, secret: str):
        self.secret, self.cache = secret, {}

    def outgoing(self, row) -> Outgoing:
        if row.request_id not in self.cache:
            self.cache[row.request_id] = (crypto.decrypt(self.secret, row.sender_enc) if row.sender_enc else None,
                                          crypto.decrypt(self.secret, row.content_enc))
        sender, content = self.cache[row.request_id]
        return Outgoing(message_id=row.id, recipient=crypto.decrypt(self.secret, row.recipient_enc), sender=sender, content=content)


def _handed_over(journaled: list):
    return next((row for row in journaled if row.status in HANDED_OVER), None)


class _Ahead:
    """While the provider decides on one message, the next is decrypted and composed: the worker's work overlaps the
    provider's instead of following it. What fails here fails when that message's turn comes, as it would have."""

    def __init__(self, contents: _Contents, senders: dict[str, Sender]):
        self.contents, self.senders, self.prepared = contents, senders, {}

    def prepare(self, row) -> None:
        try:
            outgoing = self.contents.outgoing(row)
            self.senders[row.channel].prepare(outgoing)  # keeps its own errors for send()
            self.prepared[row.id] = outgoing
        except Exception as exc:
            self.prepared[row.id] = exc

    def outgoing(self, row) -> Outgoing:
        prepared = self.prepared.pop(row.id, None)
        if isinstance(prepared, Exception):
            raise prepared
        return prepared or self.contents.outgoing(row)


@dataclass(frozen=True)
class _Outcome:
    """How an attempt ends, as the batch's transaction records it on the message row."""

    status: MessageStatus
    handed_over: bool
    provider_ref: str | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None

    def values(self) -> dict:
        values = {"status": self.status, "last_error": self.last_error, "next_attempt_at": self.next_attempt_at}
        if self.handed_over:
            values["provider_ref"] = self.provider_ref  # a refusal keeps whatever reference was there
        return values


_DUE = select(MESSAGE.c.id, MESSAGE.c.recipient_enc, MESSAGE.c.attempts, MESSAGE.c.created_at, MESSAGE.c.request_id,
              REQUEST.c.channel, REQUEST.c.callback_uri, REQUEST.c.sender_enc, REQUEST.c.content_enc
              ).join(REQUEST, REQUEST.c.id == MESSAGE.c.request_id)


def deliver_batch(engine, *, settings: MessagingSettings, senders: dict[str, Sender], message_ids: list[str],
                  journal: Journal | None = None) -> dict[str, str]:
    """Deliver those of these messages still due, in the given order and in one transaction; returns the resulting
    status per message delivered or settled (skipped: already handled, held by another worker, or purged)."""
    own_journal = journal is None
    journal = journal or Journal(engine)
    outcomes: dict[str, _Outcome] = {}
    try:
        with UnitOfWork(engine, source=settings.service_name) as uow:
            session = uow.session
            # Plain rows, not ORM objects: the batch's changes go out as a few UPDATEs, whatever its size.
            rows = session.execute(_locked(_DUE.where(MESSAGE.c.id.in_(message_ids), MESSAGE.c.status == MessageStatus.queued), engine)).all()
            if not rows:
                return {}
            position = {message_id: index for index, message_id in enumerate(message_ids)}
            rows.sort(key=lambda row: position[row.id])
            unfinished = _unfinished_attempts(session, {row.id: row.attempts for row in rows})
            ahead = _Ahead(_Contents(settings.messaging_secret), senders)
            to_send = [row for row in rows if row.recipient_enc is not None and _handed_over(unfinished.get(row.id, [])) is None]
            following = {row.id: after for row, after in zip(to_send, to_send[1:])}
            in_transaction: list[dict] = []  # history rows that commit with the batch (settled, refused)
            pending: list[dict] = []  # the acceptance of the previous message rides with the next one's `sending`
            for row in rows:
                if row.recipient_enc is None:
                    continue  # purged by retention; expiry in the queue fails it
                attempt = row.attempts + 1
                earlier = unfinished.get(row.id, [])
                handed_over = _handed_over(earlier)
                if handed_over is not None:
                    # A killed worker's provider took it already: record that, do not send it again.
                    status = MessageStatus(handed_over.status)
                    outcomes[row.id] = _Outcome(status, True, provider_ref=handed_over.detail)
                    in_transaction.append(_event(row.id, attempt, status, detail="settled_from_journal"))
                    _emit_handed_over(uow, row, status)
                    continue
                outgoing = ahead.outgoing(row)
                # `sending` journaled earlier without an outcome: the killed worker may have handed it over just before
                # it died; SMTP cannot tell, so it is sent again (same Message-ID) and flagged.
                pending.append(_event(row.id, attempt, MessageStatus.sending, detail="possible_duplicate" if earlier else None))
                journal.submit(session, pending)
                pending = []
                after = following.get(row.id)
                try:
                    provider_ref = senders[row.channel].send(outgoing, before_handover=journal.wait,
                                                             while_waiting=None if after is None else (lambda: ahead.prepare(after)))
                except DeliveryError as exc:
                    outcomes[row.id] = _refused(uow, row, attempt, exc, settings)
                    in_transaction.append(_event(row.id, attempt, outcomes[row.id].status, detail=exc.code))
                    continue
                status = _accepted_status(row.channel, settings)
                outcomes[row.id] = _Outcome(status, True, provider_ref=provider_ref)
                _emit_handed_over(uow, row, status)
                pending.append(_event(row.id, attempt, status, detail=provider_ref))
            journal.submit(session, pending)
            journal.wait()
            _record(session, outcomes, in_transaction)
            uow.commit()
    finally:
        if own_journal:
            journal.close()
    results = {message_id: outcome.status for message_id, outcome in outcomes.items()}
    if results and log.isEnabledFor(logging.INFO):
        by_status: dict[str, list[str]] = {}
        for message_id, status in results.items():
            by_status.setdefault(str(status), []).append(message_id)
        log.info("delivery attempted", extra={"fields": {"message_ids": by_status}})  # one line per batch
    return results


def _record(session, outcomes: dict[str, _Outcome], history_rows: list[dict]) -> None:
    """The batch's message rows in one UPDATE per distinct outcome (most batches: one), and its other history rows."""
    now = datetime.now(timezone.utc)
    groups: dict[tuple, list[str]] = {}
    for message_id, outcome in outcomes.items():
        groups.setdefault(tuple(outcome.values().items()), []).append(message_id)
    for values, message_ids in groups.items():
        session.execute(update(MESSAGE).where(MESSAGE.c.id.in_(message_ids))
                        .values(**dict(values), attempts=MESSAGE.c.attempts + 1, updated_at=now))
    if history_rows:
        session.execute(_JOURNAL_INSERT, history_rows)


def _accepted_status(channel: str, settings: MessagingSettings) -> MessageStatus:
    if channel == Channel.sms and settings.sms_delivery_report_token:
        return MessageStatus.sent  # settled by the gateway's delivery report (or its timeout)
    return MessageStatus.delivered


def _emit_handed_over(uow: UnitOfWork, row, status: MessageStatus) -> None:
    if status == MessageStatus.delivered and row.callback_uri:
        uow.emit(MessageDelivered(message_id=row.id, request_id=row.request_id))


def _refused(uow: UnitOfWork, row, attempt: int, exc: DeliveryError, settings: MessagingSettings) -> _Outcome:
    now = datetime.now(timezone.utc)
    if exc.permanent:
        outcome, event = _Outcome(MessageStatus.bounced, False, last_error=exc.code), MessageBounced
    elif now - row.created_at >= timedelta(seconds=settings.retry_window_seconds):
        outcome, event = _Outcome(MessageStatus.failed, False, last_error=exc.code), MessageFailed
    else:
        outcome, event = _Outcome(MessageStatus.deferred, False, last_error=exc.code, next_attempt_at=now + backoff(attempt, settings)), None
    if event is not None and row.callback_uri:
        uow.emit(event(message_id=row.id, request_id=row.request_id))
    return outcome


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
        self.unacked: set[int] = set()  # delivery tags taken in on this channel and not yet acked or nacked
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
        self.unacked = set()
        channel.basic_qos(prefetch_count=prefetch)  # per consumer, so per lane
        for queue, _ in LANES:
            channel.basic_consume(queue, lambda ch, method, properties, body, queue=queue: self._take(queue, method, properties, body))
        # Both lanes are pushed at once on start; wait (briefly) for the waiting emergencies before serving routine ones.
        deadline = time.monotonic() + 2.0
        while len(self.buffers[EMERGENCY_QUEUE]) < emergency_backlog and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.01)

    def _take(self, queue: str, method, properties, body: bytes) -> None:
        self.unacked.add(method.delivery_tag)
        self.buffers[queue].append((method, properties, body))

    def _ack(self, channel, tags: list[int]) -> None:
        """One multiple-ack when these are all the unacked deliveries up to the last of them (the usual case), else one
        ack each: a delivery still waiting in a buffer is never acked before it is handled."""
        if not tags:
            return
        last, done = max(tags), set(tags)
        if len(tags) > 1 and all(tag in done for tag in self.unacked if tag <= last):
            channel.basic_ack(last, multiple=True)
        else:
            for tag in tags:
                channel.basic_ack(tag)
        self.unacked -= done

    def _nack(self, channel, tag: int) -> None:
        channel.basic_nack(tag, requeue=True)
        self.unacked.discard(tag)

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
                self._ack(channel, [method.delivery_tag])
        if self.journal is None:
            self.journal = Journal(self.engine)
        try:
            self._deliver([message_id for _, message_id in requests])
        except DBAPIError:
            for (_, method, _, _), _ in requests:
                self._nack(channel, method.delivery_tag)  # not the messages' fault; keep their retries
            raise
        except Exception:
            # Something in the batch breaks delivery: one by one, so only that message is retried and dead-lettered.
            for (queue, method, properties, body), message_id in requests:
                try:
                    self._deliver([message_id])
                except DBAPIError:
                    self._nack(channel, method.delivery_tag)
                    raise
                except Exception as exc:
                    self._retry_or_dead_letter(channel, queue, properties, body, exc)
                self._ack(channel, [method.delivery_tag])
            return
        # After the commit: a crash before it means a redelivery, not a loss.
        self._ack(channel, [method.delivery_tag for (_, method, _, _), _ in requests])

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
