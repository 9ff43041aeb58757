"""The outbox relay: publishes unsent rows with publisher confirms, then marks them sent. Runs as its own process."""
import asyncio
import functools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone

import pika
import psycopg
from pika.adapters.asyncio_connection import AsyncioConnection
from opentelemetry import trace
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError

from kernel import bus
from kernel.db import OUTBOX_CHANNEL
from kernel.events import Envelope
from kernel.outbox import OutboxMessage
from kernel.telemetry import context_from_headers, current_trace_headers, spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class PublishFailed(pika.exceptions.AMQPError):
    """The broker refused (nacked) a message, or the channel closed before confirming it."""


class BatchWritingConnection(AsyncioConnection):
    """pika writes every AMQP frame with its own send() (three per message: the relay's largest cost when profiled);
    between gather() and write_gathered() the frames are collected and written together."""

    gathered: list[bytes] | None = None

    def gather(self) -> None:
        self.gathered = []

    def write_gathered(self) -> None:
        frames, self.gathered = self.gathered, None
        if frames:
            data = b"".join(frames)
            self.bytes_sent += len(data)
            self.frames_sent += len(frames)
            self._adapter_emit_data(data)

    def _output_marshaled_frames(self, marshaled_frames) -> None:
        if self.gathered is None:
            super()._output_marshaled_frames(marshaled_frames)
        else:
            self.gathered.extend(marshaled_frames)


class Publisher:
    """Publishes a batch and waits once for all its confirms (a wait per message would cap throughput).

    pika's asyncio adapter on a private event loop keeps confirms asynchronous behind a blocking call, so the relay
    stays a plain loop. Like every pika connection it belongs to the thread that uses it.
    """

    CONFIRM_TIMEOUT_SECONDS = 30

    def __init__(self, amqp_url: str, exchange: str):
        self.amqp_url, self.exchange = amqp_url, exchange
        self.loop = asyncio.new_event_loop()
        self.connection = None
        self.channel = None
        self.next_tag = 1
        self.pending: dict[int, asyncio.Future] = {}

    def publish_batch(self, messages: list[OutboxMessage]) -> None:
        """Returns once the broker has confirmed every message (raises otherwise). A message is an OutboxMessage or a
        row with its columns."""
        self.loop.run_until_complete(self._publish_batch(messages))

    async def _publish_batch(self, messages: list[OutboxMessage]) -> None:
        if self.channel is None or not self.channel.is_open:
            await self._open()
        confirms = []
        traced = spans_recorded()
        self.connection.gather()
        try:
            for message in messages:
                confirm = self.loop.create_future()
                self.pending[self.next_tag] = confirm
                self.next_tag += 1
                confirms.append(confirm)
                if traced:
                    with tracer.start_as_current_span(f"publish {message.type}", context=context_from_headers(message.headers), kind=trace.SpanKind.PRODUCER):
                        self._publish(message, current_trace_headers())
                else:  # a span nobody records: the emitting request's own trace context travels on instead
                    self._publish(message, message.headers)
        finally:
            self.connection.write_gathered()
        results = await asyncio.wait_for(asyncio.gather(*confirms), self.CONFIRM_TIMEOUT_SECONDS)
        if not all(results):
            raise PublishFailed("the broker nacked a message")

    def _publish(self, message: OutboxMessage, headers: dict) -> None:
        envelope = Envelope(id=message.id, source=message.source, type=message.type, time=message.time, subject=message.subject, data=message.data)
        self.channel.basic_publish(
            exchange=self.exchange,
            routing_key=message.type,
            body=envelope.to_bytes(),
            properties=pika.BasicProperties(
                message_id=message.id, type=message.type, content_type="application/cloudevents+json",
                delivery_mode=pika.DeliveryMode.Persistent, headers=headers,
                timestamp=int(message.time.timestamp()),
            ),
        )

    async def _open(self) -> None:
        self.close()
        opened = self.loop.create_future()
        params = pika.URLParameters(self.amqp_url)
        params.connection_attempts = 1
        self.connection = BatchWritingConnection(
            params, custom_ioloop=self.loop,
            on_open_callback=lambda c: opened.done() or opened.set_result(c),
            on_open_error_callback=lambda c, e: opened.done() or opened.set_exception(PublishFailed(str(e))),
            on_close_callback=lambda c, e: self._fail_pending(e),
        )
        await asyncio.wait_for(opened, 10)
        self.channel = await self._call(lambda cb: self.connection.channel(on_open_callback=cb))
        self.channel.add_on_close_callback(lambda ch, e: self._fail_pending(e))
        await self._call(lambda cb: self.channel.exchange_declare(self.exchange, "topic", durable=True, callback=cb))
        self.next_tag = 1
        await self._call(lambda cb: self.channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=cb))

    async def _call(self, start):
        done = self.loop.create_future()
        start(lambda result: done.done() or done.set_result(result))
        return await asyncio.wait_for(done, 10)

    def _on_confirm(self, frame) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tags = [tag for tag in self.pending if tag <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            confirm = self.pending.pop(tag, None)
            if confirm is not None and not confirm.done():
                confirm.set_result(acked)

    def _fail_pending(self, reason) -> None:
        for confirm in self.pending.values():
            if not confirm.done():
                confirm.set_exception(PublishFailed(f"channel closed before confirming: {reason}"))
        self.pending.clear()

    def close(self) -> None:
        if self.connection is not None and not self.connection.is_closed:
            try:
                self.connection.close()
                self.loop.run_until_complete(asyncio.sleep(0.05))  # let the close handshake go out
            except Exception:
                pass
        self._fail_pending("closed")
        self.connection = self.channel = None


OUTBOX = OutboxMessage.__table__


@functools.lru_cache(maxsize=16)
def _claim(batch_size: int, postgresql: bool):
    # Built once: rebuilding it per poll (and its cache key) was a fifth of the relay's CPU when profiled.
    unsent = select(OUTBOX.c.seq).where(OUTBOX.c.sent_at.is_(None)).order_by(OUTBOX.c.seq).limit(batch_size)
    if postgresql:
        unsent = unsent.with_for_update(skip_locked=True)  # several relays may run side by side
    return (update(OUTBOX).where(OUTBOX.c.seq.in_(unsent.scalar_subquery())).values(sent_at=bindparam("now"))
            .returning(OUTBOX.c.seq, OUTBOX.c.id, OUTBOX.c.type, OUTBOX.c.source, OUTBOX.c.subject, OUTBOX.c.time,
                       OUTBOX.c.data, OUTBOX.c.headers))


_ANY_UNSENT = select(OUTBOX.c.seq).where(OUTBOX.c.sent_at.is_(None)).limit(1)


def relay_batch(engine, publisher: Publisher, *, batch_size: int = 500) -> int:
    """Publish one batch of unsent rows; a crash before the commit only means they are published again.

    One UPDATE ... RETURNING claims the batch (marked sent, but only once the commit that follows the broker's confirms
    makes it so), so a batch costs two round trips to the database whatever its size.
    """
    postgresql = engine.dialect.name == "postgresql"
    claim = _claim(batch_size, postgresql)
    with engine.connect() as connection:
        if not postgresql:
            # SQLite: an UPDATE takes the file's write lock even when it matches nothing; polling with it every 0.1 s
            # failed other processes' transactions that had read and were about to write ("database is locked").
            anything_unsent = connection.execute(_ANY_UNSENT).first() is not None
            connection.rollback()  # so the claim starts as a write, which waits for the lock where a read-then-write fails
            if not anything_unsent:
                return 0
        rows = connection.execute(claim, {"now": datetime.now(timezone.utc)}).all()
        rows.sort(key=lambda row: row.seq)  # RETURNING has no order of its own
        if not rows:
            connection.rollback()
            return 0
        publisher.publish_batch(rows)
        connection.commit()  # not reached if the broker refused a message: the claim rolls back with the connection
        return len(rows)


class Wakeups:
    """When the relay looks at the outbox again after finding it empty.

    On PostgreSQL it waits until a transaction that emitted events commits (UnitOfWork.commit sends a NOTIFY, received
    here through LISTEN on a connection of its own): events go out at once, and an idle relay costs no query every
    poll_seconds. It still looks every idle_seconds, since not every row that becomes unsent is announced (a claim rolled
    back when the broker failed gives its rows back silently). On SQLite, or while the listening connection is down, it
    polls every poll_seconds as before."""

    STOP_CHECK_SECONDS = 0.2  # how soon a stop request is noticed while waiting for a notification
    RECONNECT_SECONDS = 1.0

    def __init__(self, engine, *, poll_seconds: float, idle_seconds: float):
        self.engine, self.poll_seconds, self.idle_seconds = engine, poll_seconds, idle_seconds
        self.listening = None  # an engine connection detached from its pool, in LISTEN (closing it closes the connection)
        self.retry_at = 0.0

    def wait(self, stop: threading.Event) -> None:
        if self.listening is None:
            if not self._listen():
                stop.wait(self.poll_seconds)
            return  # listening from now on: the outbox is looked at once more for what was committed before
        connection = self.listening.dbapi_connection
        deadline = time.monotonic() + self.idle_seconds
        try:
            while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
                if next(connection.notifies(timeout=min(remaining, self.STOP_CHECK_SECONDS), stop_after=1), None):
                    for _ in connection.notifies(timeout=0):
                        pass  # the ones that came with it: one look at the outbox covers them all
                    return
        except psycopg.Error as exc:
            log.warning("outbox notifications lost, polling until listening again: %s", type(exc).__name__)
            self.close()

    def _listen(self) -> bool:
        if self.engine.dialect.name != "postgresql" or time.monotonic() < self.retry_at:
            return False
        try:
            # A connection from the engine (same parameters), taken out of its pool: it only ever listens.
            self.listening = self.engine.raw_connection()
            self.listening.detach()
            self.listening.dbapi_connection.autocommit = True
            self.listening.dbapi_connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        except (DBAPIError, psycopg.Error, OSError) as exc:
            log.warning("cannot listen for outbox notifications, polling: %s", type(exc).__name__)
            self.close()
            return False
        return True

    def close(self) -> None:
        if self.listening is not None:
            try:
                self.listening.close()
            except Exception:
                pass
        self.listening = None
        self.retry_at = time.monotonic() + self.RECONNECT_SECONDS


AWAIT_CHECK_SECONDS = 1.0
AWAIT_LOG_SECONDS = 30.0


def await_consumers(amqp_url: str, queues: Sequence[str], stop: threading.Event) -> None:
    """Returns once every named consumer's queues and bindings exist (or on stop). On a fresh broker the relays and
    consumers start together, and an event published before its consumers have bound their queues is dropped by the
    broker as unroutable: lost. The events wait in the outbox instead. Queues are durable, so this waits only once."""
    missing, logged_at = list(queues), None
    while missing and not stop.is_set():
        try:
            connection = bus.connect(amqp_url)
            try:
                missing = [queue for queue in missing if not bus.consumer_declared(connection, queue)]
            finally:
                connection.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("cannot ask the broker for consumer queues: %s", type(exc).__name__)
        if missing:
            if logged_at is None or time.monotonic() - logged_at > AWAIT_LOG_SECONDS:
                log.info("events wait in the outbox until these consumers have declared their queues: %s", ", ".join(missing))
                logged_at = time.monotonic()
            stop.wait(AWAIT_CHECK_SECONDS)


def run(engine, *, amqp_url: str, exchange: str, poll_seconds: float = 0.1, idle_seconds: float = 1.0, batch_size: int = 500,
        await_queues: Sequence[str] = (), stop: threading.Event | None = None) -> None:
    """Relay until stopped; a broker or database outage is waited out, never fatal. await_queues: consumers (their
    queue names) whose queues must exist before anything is published (await_consumers)."""
    stop = stop or threading.Event()
    await_consumers(amqp_url, await_queues, stop)
    publisher = Publisher(amqp_url, exchange)
    wakeups = Wakeups(engine, poll_seconds=poll_seconds, idle_seconds=idle_seconds)
    backoff = 0.5
    while not stop.is_set():
        try:
            sent = relay_batch(engine, publisher, batch_size=batch_size)
            backoff = 0.5
            if sent == 0:
                wakeups.wait(stop)
        except (pika.exceptions.AMQPError, OSError, asyncio.TimeoutError) as exc:
            log.warning("broker connection lost, retrying in %.1fs: %s %s", backoff, type(exc).__name__, exc)
            publisher.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
        except DBAPIError as exc:
            log.warning("database unavailable, retrying in %.1fs: %s", backoff, type(exc).__name__)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
    wakeups.close()
    publisher.close()
