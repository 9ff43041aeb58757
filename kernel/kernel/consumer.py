"""The consumer: trace context in, dedupe by message id, handler and commit, then ack; retries, then the DLQ."""
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pika
from opentelemetry import trace
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope
from kernel.outbox import ProcessedMessage, utcnow
from kernel.telemetry import attach_context, context_from_headers, detach_context, spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Envelope, UnitOfWork], None]
ATTEMPTS_HEADER = "x-attempts"
PROCESSED = ProcessedMessage.__table__
RECORD_PROCESSED = text("INSERT INTO processed_message (consumer, message_id, processed_at) "
                        "SELECT :consumer, unnest(CAST(:ids AS varchar[])), :now")
BATCH_WAIT_SECONDS = 0.02


def outside_effects(handler: Handler) -> Handler:
    """Marks a handler that acts outside the database (posts a callback, pushes to a URL). A batch holding one of its
    messages is applied with a savepoint per message from the start: a failing message then never makes the others
    run again, as the retry of an abandoned batch would (their database work is rolled back and redone, a call made
    is not taken back). Still at least once: a commit that fails after the calls has the whole batch delivered again."""
    handler.outside_effects = True
    return handler


def _acts_outside(handlers: dict[str, Handler], deliveries: list["Delivery"]) -> bool:
    return any(getattr(handler_for(handlers, d.envelope.type), "outside_effects", False) for d in deliveries if d.envelope)


def handler_for(handlers: dict[str, Handler], routing_key: str) -> Handler | None:
    for pattern, handler in handlers.items():
        if bus.matches(pattern, routing_key):
            return handler
    return None


def process(engine, *, consumer: str, source: str, handlers: dict[str, Handler], envelope: Envelope) -> bool:
    """Apply the handler once per (consumer, message id); returns False for a duplicate. Raises if the handler fails."""
    with UnitOfWork(engine, source=source) as uow:
        if uow.session.get(ProcessedMessage, (consumer, envelope.id)) is not None:
            return False
        _apply(uow, consumer, handlers, envelope)
        uow.commit()
    return True


def record_processed(session, consumer: str, message_ids: list[str]) -> None:
    """The dedupe rows of a batch in one statement: as ORM objects, or even as an executemany, they cost more than the
    handlers did when profiled. On PostgreSQL the ids travel as one array parameter, so the statement stays the same."""
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(RECORD_PROCESSED, {"consumer": consumer, "ids": message_ids, "now": now})
    else:
        session.execute(insert(PROCESSED), [{"consumer": consumer, "message_id": i, "processed_at": now} for i in message_ids])


def _apply(uow: UnitOfWork, consumer: str, handlers: dict[str, Handler], envelope: Envelope) -> None:
    uow.session.add(ProcessedMessage(consumer=consumer, message_id=envelope.id))
    handler = handler_for(handlers, envelope.type)
    if handler is not None:
        handler(envelope, uow)
    uow.session.flush()


@dataclass
class Delivery:
    tag: int
    properties: pika.BasicProperties
    body: bytes
    envelope: Envelope | None = None
    error: Exception | None = None


class Consumer:
    def __init__(self, engine, *, amqp_url: str, exchange: str, queue: str, source: str, handlers: dict[str, Handler],
                 max_retries: int = 5, retry_delay_ms: int = 2000, prefetch: int = 200):
        self.engine, self.amqp_url, self.exchange, self.queue, self.source = engine, amqp_url, exchange, queue, source
        self.handlers, self.max_retries, self.retry_delay_ms, self.prefetch = handlers, max_retries, retry_delay_ms, prefetch
        # Half the prefetch per transaction: the broker streams the next half while this one commits.
        self.batch_size = max(1, prefetch // 2)
        # Only a table with such a handler has its batches looked through for one (the event bus's hot path).
        self.acts_outside = any(getattr(handler, "outside_effects", False) for handler in handlers.values())

    def _handle_batch(self, channel, deliveries: list[Delivery]) -> None:
        """Apply a batch of deliveries in as few transactions as possible; ack only after the commit."""
        for delivery in deliveries:
            try:
                delivery.envelope = Envelope.from_bytes(delivery.body)
            except Exception as exc:
                delivery.error = exc
        try:
            isolated = self.acts_outside and _acts_outside(self.handlers, deliveries)
            if not self._apply_batch(deliveries, isolated=isolated):
                self._apply_batch(deliveries, isolated=True)
        except DBAPIError as exc:
            # The database is down: not the messages' fault, so don't spend their retries; redeliver later.
            log.warning("database unavailable while handling a batch (%s); requeued", type(exc).__name__)
            channel.basic_nack(deliveries[-1].tag, multiple=True, requeue=True)
            threading.Event().wait(1.0)
            return
        for delivery in deliveries:
            headers = delivery.properties.headers or {}
            if delivery.envelope is None:
                log.error("unreadable message %s sent to the dead-letter queue", delivery.properties.message_id)
                self._forward(channel, bus.dead_letter_queue(self.queue), delivery.properties, delivery.body, headers, "unreadable")
            elif delivery.error is not None:
                self._retry_or_dead_letter(channel, delivery.properties, delivery.body, headers, delivery.error)
        channel.basic_ack(deliveries[-1].tag, multiple=True)

    def _apply_batch(self, deliveries: list[Delivery], *, isolated: bool) -> bool:
        """Apply every new message and commit once. Not isolated, the first failure abandons the whole attempt
        (returns False) so the caller can retry isolated, where a savepoint per message confines each failure."""
        traced = spans_recorded()
        with UnitOfWork(self.engine, source=self.source) as uow:
            ids = [d.envelope.id for d in deliveries if d.envelope]
            done = set(uow.session.exec(select(ProcessedMessage.message_id).where(
                ProcessedMessage.consumer == self.queue, ProcessedMessage.message_id.in_(ids))).all()) if ids else set()
            applied = []
            for delivery in deliveries:
                delivery.error = None
                if delivery.envelope is None or delivery.envelope.id in done:
                    continue  # unreadable, or a duplicate: nothing to apply
                done.add(delivery.envelope.id)
                self._apply_one(uow, delivery, isolated, traced)
                if delivery.error is not None and not isolated:
                    return False
                applied.append(delivery.envelope.id)
            try:
                if applied and not isolated:
                    record_processed(uow.session, self.queue, applied)
                uow.commit()
            except IntegrityError:
                if isolated:
                    raise
                return False  # e.g. another consumer applied one of them meanwhile: the isolated pass skips it
        return True

    def _apply_one(self, uow: UnitOfWork, delivery: Delivery, isolated: bool, traced: bool) -> None:
        headers = delivery.properties.headers or {}
        envelope = delivery.envelope
        if not traced:  # no span, as none would be recorded; the trace context is still current for the handler's events
            token = attach_context(headers)
            try:
                self._apply_handler(uow, delivery, isolated, None)
            finally:
                detach_context(token)
            return
        with tracer.start_as_current_span(f"consume {envelope.type}", context=context_from_headers(headers), kind=trace.SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.message.id", envelope.id)
            span.set_attribute("messaging.destination.name", self.queue)
            self._apply_handler(uow, delivery, isolated, span)

    def _apply_handler(self, uow: UnitOfWork, delivery: Delivery, isolated: bool, span) -> None:
        envelope = delivery.envelope
        savepoint = uow.session.begin_nested() if isolated else None
        try:
            if isolated:
                _apply(uow, self.queue, self.handlers, envelope)
                savepoint.commit()
            else:
                handler = handler_for(self.handlers, envelope.type)
                if handler is not None:
                    handler(envelope, uow)
        except Exception as exc:
            if savepoint is not None:
                savepoint.rollback()
            if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError) and exc.connection_invalidated:
                raise
            if span is not None:
                span.record_exception(exc)
            delivery.error = exc

    def _retry_or_dead_letter(self, channel, properties, body, headers, exc) -> None:
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        if attempts > self.max_retries:
            log.error("message %s failed %d times (%s); dead-lettered", properties.message_id, attempts, type(exc).__name__)
            self._forward(channel, bus.dead_letter_queue(self.queue), properties, body, {**headers, ATTEMPTS_HEADER: attempts}, type(exc).__name__)
        else:
            log.warning("message %s failed (%s); retry %d of %d", properties.message_id, type(exc).__name__, attempts, self.max_retries)
            self._forward(channel, bus.retry_queue(self.queue), properties, body, {**headers, ATTEMPTS_HEADER: attempts}, None)

    @staticmethod
    def _forward(channel, queue: str, properties, body, headers, error: str | None) -> None:
        if error:
            headers = {**headers, "x-error": error}
        channel.basic_publish(
            exchange="", routing_key=queue, body=body,
            properties=pika.BasicProperties(
                message_id=properties.message_id, type=properties.type, content_type=properties.content_type,
                delivery_mode=pika.DeliveryMode.Persistent, headers=headers, timestamp=properties.timestamp,
            ),
        )  # confirmed (the channel is in confirm mode) before the original is acked

    def declare(self) -> None:
        """The queues and bindings, declared now: events published before they exist are dropped by the broker, so
        whatever starts publishers right away (a test's fixtures) declares them first."""
        connection = bus.connect(self.amqp_url)
        try:
            self._declare(connection.channel())
        finally:
            connection.close()

    def _declare(self, channel) -> None:
        bus.declare_consumer_queues(channel, exchange=self.exchange, queue=self.queue, bindings=list(self.handlers),
                                    retry_delay_ms=self.retry_delay_ms)

    def run(self, stop: threading.Event | None = None) -> None:
        """Consume until stopped, reconnecting after broker outages."""
        stop = stop or threading.Event()
        backoff = 0.5
        while not stop.is_set():
            connection = None
            try:
                connection = bus.connect(self.amqp_url)
                channel = connection.channel()
                self._declare(channel)
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=self.prefetch)
                backoff = 0.5
                self._consume(channel, stop)
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("broker connection lost, reconnecting in %.1fs: %s %s", backoff, type(exc).__name__, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except Exception:
                        pass

    def _consume(self, channel, stop: threading.Event) -> None:
        batch: list[Delivery] = []
        started = 0.0
        for method, properties, body in channel.consume(self.queue, inactivity_timeout=BATCH_WAIT_SECONDS):
            if method is not None:
                if not batch:
                    started = time.monotonic()
                batch.append(Delivery(method.delivery_tag, properties, body))
            # A batch closes when full, when the queue goes quiet, or when its first message has waited long enough.
            if batch and (len(batch) >= self.batch_size or method is None or time.monotonic() - started > BATCH_WAIT_SECONDS):
                self._handle_batch(channel, batch)
                batch = []
            if stop.is_set() and not batch:
                channel.cancel()  # unacked messages (none) would return to the queue
                return
