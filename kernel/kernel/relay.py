"""The outbox relay: publishes unsent rows with publisher confirms, then marks them sent. Runs as its own process."""
import logging
import threading
import time
from datetime import datetime, timezone

import pika
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from kernel import bus
from kernel.events import Envelope
from kernel.outbox import OutboxMessage
from kernel.telemetry import context_from_headers, current_trace_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class Publisher:
    """One confirmed channel on one connection; pika connections belong to the thread that made them."""

    def __init__(self, amqp_url: str, exchange: str):
        self.amqp_url, self.exchange = amqp_url, exchange
        self.connection = None
        self.channel = None

    def open(self) -> None:
        self.connection = bus.connect(self.amqp_url)
        self.channel = self.connection.channel()
        bus.declare_exchange(self.channel, self.exchange)
        self.channel.confirm_delivery()

    def publish(self, message: OutboxMessage) -> None:
        """Returns once the broker has confirmed the message (raises otherwise)."""
        if self.channel is None or self.channel.is_closed:
            self.open()
        envelope = Envelope(id=message.id, source=message.source, type=message.type, time=message.time, subject=message.subject, data=message.data)
        with tracer.start_as_current_span(f"publish {message.type}", context=context_from_headers(message.headers), kind=trace.SpanKind.PRODUCER):
            self.channel.basic_publish(
                exchange=self.exchange,
                routing_key=message.type,
                body=envelope.to_bytes(),
                properties=pika.BasicProperties(
                    message_id=message.id, type=message.type, content_type="application/cloudevents+json",
                    delivery_mode=pika.DeliveryMode.Persistent, headers=current_trace_headers(),
                    timestamp=int(message.time.timestamp()),
                ),
            )

    def close(self) -> None:
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except Exception:
            pass
        self.connection = self.channel = None


def relay_batch(engine, publisher: Publisher, *, batch_size: int = 500) -> int:
    """Publish one batch of unsent rows; a crash before the commit only means they are published again."""
    with Session(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.seq).limit(batch_size)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several relays may run side by side
        rows = session.exec(query).all()
        if not rows:
            return 0
        for row in rows:
            publisher.publish(row)
        now = datetime.now(timezone.utc)
        for row in rows:
            row.sent_at = now
        session.commit()
        return len(rows)


def run(engine, *, amqp_url: str, exchange: str, poll_seconds: float = 0.1, batch_size: int = 500, stop: threading.Event | None = None) -> None:
    """Relay until stopped; a broker or database outage is waited out, never fatal."""
    stop = stop or threading.Event()
    publisher = Publisher(amqp_url, exchange)
    backoff = 0.5
    while not stop.is_set():
        try:
            sent = relay_batch(engine, publisher, batch_size=batch_size)
            backoff = 0.5
            if sent == 0:
                stop.wait(poll_seconds)
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("broker connection lost, retrying in %.1fs: %s %s", backoff, type(exc).__name__, exc)
            publisher.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
        except DBAPIError as exc:
            log.warning("database unavailable, retrying in %.1fs: %s", backoff, type(exc).__name__)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
    publisher.close()
