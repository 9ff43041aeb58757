"""The consumer: trace context in, dedupe by message id, handler and commit, then ack; retries, then the DLQ."""
import logging
import threading
from collections.abc import Callable

import pika
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError, IntegrityError

from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope
from kernel.outbox import ProcessedMessage
from kernel.telemetry import context_from_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Envelope, UnitOfWork], None]
ATTEMPTS_HEADER = "x-attempts"


def handler_for(handlers: dict[str, Handler], routing_key: str) -> Handler | None:
    for pattern, handler in handlers.items():
        if bus.matches(pattern, routing_key):
            return handler
    return None


def process(engine, *, consumer: str, source: str, handlers: dict[str, Handler], envelope: Envelope) -> bool:
    """Apply the handler once per (consumer, message id); returns False for a duplicate."""
    handler = handler_for(handlers, envelope.type)
    with UnitOfWork(engine, source=source) as uow:
        if uow.session.get(ProcessedMessage, (consumer, envelope.id)) is not None:
            return False
        uow.session.add(ProcessedMessage(consumer=consumer, message_id=envelope.id))
        if handler is not None:
            handler(envelope, uow)
        try:
            uow.commit()
        except IntegrityError:
            # Another replica processed the same message concurrently; the primary key kept it to one.
            uow.rollback()
            if uow.session.get(ProcessedMessage, (consumer, envelope.id)) is not None:
                return False
            raise
    return True


class Consumer:
    def __init__(self, engine, *, amqp_url: str, exchange: str, queue: str, source: str, handlers: dict[str, Handler],
                 max_retries: int = 5, retry_delay_ms: int = 2000, prefetch: int = 50):
        self.engine, self.amqp_url, self.exchange, self.queue, self.source = engine, amqp_url, exchange, queue, source
        self.handlers, self.max_retries, self.retry_delay_ms, self.prefetch = handlers, max_retries, retry_delay_ms, prefetch

    def _on_message(self, channel, method, properties, body) -> None:
        headers = properties.headers or {}
        try:
            envelope = Envelope.from_bytes(body)
        except Exception:
            log.error("unreadable message %s sent to the dead-letter queue", properties.message_id)
            self._forward(channel, bus.dead_letter_queue(self.queue), properties, body, headers, "unreadable")
            channel.basic_ack(method.delivery_tag)
            return
        with tracer.start_as_current_span(f"consume {envelope.type}", context=context_from_headers(headers), kind=trace.SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.message.id", envelope.id)
            span.set_attribute("messaging.destination.name", self.queue)
            try:
                process(self.engine, consumer=self.queue, source=self.source, handlers=self.handlers, envelope=envelope)
            except DBAPIError as exc:
                if isinstance(exc, IntegrityError):
                    self._retry_or_dead_letter(channel, properties, body, headers, exc)
                else:
                    # The database is down: not the message's fault, so don't spend its retries; redeliver later.
                    log.warning("database unavailable while handling %s; requeued", envelope.id)
                    channel.basic_nack(method.delivery_tag, requeue=True)
                    threading.Event().wait(1.0)
                    return
            except Exception as exc:
                span.record_exception(exc)
                self._retry_or_dead_letter(channel, properties, body, headers, exc)
        channel.basic_ack(method.delivery_tag)

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

    def run(self, stop: threading.Event | None = None) -> None:
        """Consume until stopped, reconnecting after broker outages."""
        stop = stop or threading.Event()
        backoff = 0.5
        while not stop.is_set():
            connection = None
            try:
                connection = bus.connect(self.amqp_url)
                channel = connection.channel()
                bus.declare_consumer_queues(channel, exchange=self.exchange, queue=self.queue, bindings=list(self.handlers), retry_delay_ms=self.retry_delay_ms)
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=self.prefetch)
                channel.basic_consume(self.queue, self._on_message)
                backoff = 0.5
                while not stop.is_set():
                    connection.process_data_events(time_limit=0.2)
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
