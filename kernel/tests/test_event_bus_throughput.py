"""The event bus's faster paths keep its guarantees: order, dedupe and trace context survive batching."""
import json
import secrets

import pika
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from sqlmodel import Session, select

from kernel import bus, consumer as consumer_module, relay as relay_module, telemetry
from kernel.consumer import Consumer
from kernel.db import UnitOfWork
from kernel.events import Envelope, Event
from kernel.outbox import OutboxMessage, ProcessedMessage
from kernel.relay import Publisher, relay_batch
from kernel.testing import running, wait_until

from .conftest import Effect
from .test_event_bus import count, declare, queue_depth


def event_class(routing_key: str):
    class Bulky(Event):
        type = routing_key
        n: int
        padding: str

    return Bulky


def drain(settings, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    connection = bus.connect(settings.amqp_url)
    channel = connection.channel()
    messages = []
    while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
        messages.append(got[1:])
    connection.close()
    return messages


def test_a_large_batch_arrives_whole_and_in_emission_order(engine, settings, routing_key):
    """The claim's RETURNING has no order and the frames of a batch are written together (megabytes, so the socket
    takes them in several partial sends): neither may reorder, cut or lose a message."""
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    bulky = event_class(routing_key)
    with UnitOfWork(engine, source="kernel-test") as uow:
        ids = [uow.emit(bulky(n=n, padding=secrets.token_hex(1000))).id for n in range(600)]
        uow.commit()

    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    try:
        while relay_batch(engine, publisher, batch_size=400):
            pass
    finally:
        publisher.close()

    messages = drain(settings, queue)
    assert [properties.message_id for properties, _ in messages] == ids
    assert [json.loads(body)["data"]["n"] for _, body in messages] == list(range(600))
    assert all(Envelope.from_bytes(body).id == properties.message_id for properties, body in messages)
    assert count(engine, OutboxMessage, OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None)) == 0


def test_a_refused_batch_stays_unsent(engine, settings, routing_key):
    """Rows are claimed before publishing; if the broker never confirms, the claim rolls back and they go out later."""

    class RefusingPublisher(Publisher):
        def publish_batch(self, messages):
            raise relay_module.PublishFailed("the broker nacked a message")

    with UnitOfWork(engine, source="kernel-test") as uow:
        event_ids = [uow.emit(event_class(routing_key)(n=n, padding="")).id for n in range(3)]
        uow.commit()
    with pytest.raises(relay_module.PublishFailed):
        relay_batch(engine, RefusingPublisher(settings.amqp_url, settings.events_exchange))
    assert count(engine, OutboxMessage, OutboxMessage.id.in_(event_ids), OutboxMessage.sent_at.is_(None)) == 3


def test_duplicates_inside_one_batch_and_across_batches_apply_once(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    envelopes = [Envelope.new(source="kernel-test", type=routing_key, data={"n": n}) for n in range(30)]
    already_done = envelopes[0]
    with Session(engine) as session:  # handled before, by an earlier batch
        session.add(ProcessedMessage(consumer=queue, message_id=already_done.id))
        session.commit()
    connection = bus.connect(settings.amqp_url)
    channel = connection.channel()
    for envelope in envelopes + envelopes[:10]:  # the first ten twice, in the same burst
        channel.basic_publish(settings.events_exchange, routing_key, envelope.to_bytes(),
                              pika.BasicProperties(message_id=envelope.id, delivery_mode=2))
    connection.close()

    def record(envelope, uow):
        uow.session.add(Effect(message_id=envelope.id))

    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=queue,
                        source="kernel-test", handlers={routing_key: record}, prefetch=16)
    assert consumer.batch_size == 8
    ids = [e.id for e in envelopes]
    with running(consumer.run):
        wait_until(lambda: count(engine, ProcessedMessage, ProcessedMessage.consumer == queue) == 30, message="every message")
        wait_until(lambda: queue_depth(settings, queue) == 0, message="every copy acked")
    assert count(engine, Effect, Effect.message_id.in_(ids)) == 29  # the one processed earlier is not applied again
    assert count(engine, Effect, Effect.message_id == already_done.id) == 0


def test_without_recorded_spans_the_trace_context_still_flows_through_relay_and_consumer(engine, settings, routing_key, monkeypatch, spans):
    """With no exporter no publish/consume spans are made, yet the emitting request's trace id reaches the consumer
    and the events its handler emits."""
    monkeypatch.setattr(relay_module, "spans_recorded", lambda: False)
    monkeypatch.setattr(consumer_module, "spans_recorded", lambda: False)
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    follow_up_key = routing_key.replace(".created", ".followed")
    trace_id = secrets.token_hex(16)
    token = telemetry.attach_context({"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    try:
        with UnitOfWork(engine, source="kernel-test") as uow:
            first = uow.emit(event_class(routing_key)(n=1, padding=""))
            uow.commit()
    finally:
        telemetry.detach_context(token)

    class FollowedUp(Event):
        type = follow_up_key
        of: str

    def follow_up(envelope, uow):
        uow.emit(FollowedUp(of=envelope.id))

    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=queue,
                        source="kernel-test", handlers={routing_key: follow_up})
    with running(lambda stop: relay_module.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(consumer.run):
        wait_until(lambda: count(engine, OutboxMessage, OutboxMessage.type == follow_up_key) == 1, message="the follow-up event")

    with Session(engine) as session:
        follow = session.exec(select(OutboxMessage).where(OutboxMessage.type == follow_up_key)).one()
    assert follow.data == {"of": first.id}
    assert follow.headers["traceparent"].split("-")[1] == trace_id
    assert not [s for s in spans.get_finished_spans() if s.name in (f"publish {routing_key}", f"consume {routing_key}")]


def test_spans_are_recorded_only_with_a_sampling_provider(monkeypatch):
    assert telemetry.spans_recorded()  # the test process exports to memory
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: TracerProvider(sampler=ALWAYS_OFF))
    assert not telemetry.spans_recorded()  # setup_tracing with no exporter
