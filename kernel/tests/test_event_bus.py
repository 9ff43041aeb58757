"""Outbox -> relay -> RabbitMQ -> consumer, against the real broker and database."""
import pika
import pytest
from sqlmodel import Session, func, select

from kernel import bus
from kernel.consumer import Consumer, outside_effects
from kernel.db import UnitOfWork
from kernel.outbox import OutboxMessage, ProcessedMessage
from kernel.relay import Publisher, relay_batch
from kernel.testing import running, wait_until

from .conftest import Effect, Note, NoteCreated, emit_note


class RelayDied(Exception):
    pass


class PublisherThatDiesAfterPublishing(Publisher):
    """Publishes for real, then dies before the relay can mark the row sent."""

    def publish_batch(self, messages):
        super().publish_batch(messages)
        raise RelayDied


def record_effect(envelope, uow):
    uow.session.add(Effect(message_id=envelope.id))


def always_fail(envelope, uow):
    raise RuntimeError("handler is broken")


def make_consumer(engine, settings, queue, handlers, **options):
    return Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=queue,
                    source="kernel-test", handlers=handlers, **options)


def queue_depth(settings, queue: str) -> int:
    connection = bus.connect(settings.amqp_url)
    try:
        return connection.channel().queue_declare(queue=queue, passive=True).method.message_count
    finally:
        connection.close()


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def declare(settings, queue, routing_key, retry_delay_ms=2000):
    connection = bus.connect(settings.amqp_url)
    bus.declare_consumer_queues(connection.channel(), exchange=settings.events_exchange, queue=queue,
                                bindings=[routing_key], retry_delay_ms=retry_delay_ms)
    connection.close()


def test_relay_crash_after_publish_delivers_once(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    event_id = emit_note(engine, routing_key)

    dying = PublisherThatDiesAfterPublishing(settings.amqp_url, settings.events_exchange)
    with pytest.raises(RelayDied):
        relay_batch(engine, dying)
    dying.close()
    assert count(engine, OutboxMessage, OutboxMessage.id == event_id, OutboxMessage.sent_at.is_(None)) == 1
    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    relay_batch(engine, publisher)
    publisher.close()
    assert queue_depth(settings, queue) == 2  # the crash made the relay publish it twice

    consumer = make_consumer(engine, settings, queue, {routing_key: record_effect})
    with running(consumer.run):
        wait_until(lambda: queue_depth(settings, queue) == 0, message="the queue to drain")
        wait_until(lambda: count(engine, ProcessedMessage, ProcessedMessage.message_id == event_id) == 1)

    assert count(engine, Effect, Effect.message_id == event_id) == 1
    assert queue_depth(settings, queue) == 0  # both copies were acked, none waits for redelivery
    assert count(engine, OutboxMessage, OutboxMessage.id == event_id, OutboxMessage.sent_at.is_not(None)) == 1


def test_rolled_back_transaction_publishes_nothing(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)

    class _Created(NoteCreated):
        type = routing_key

    with pytest.raises(ValueError), UnitOfWork(engine, source="kernel-test") as uow:
        note = Note(text="never stored")
        uow.session.add(note)
        uow.emit(_Created(note_id=note.id))
        raise ValueError("the operation failed before commit")
    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    relay_batch(engine, publisher)
    publisher.close()

    assert count(engine, Note, Note.id == note.id) == 0
    assert count(engine, OutboxMessage, OutboxMessage.type == routing_key) == 0
    assert queue_depth(settings, queue) == 0


def test_failing_handler_ends_in_dead_letter_queue_and_consumer_goes_on(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    good_key = routing_key.replace(".created", ".good")
    consumer = make_consumer(engine, settings, queue, {routing_key: always_fail, good_key: record_effect},
                             max_retries=2, retry_delay_ms=100)
    declare(settings, queue, routing_key, retry_delay_ms=100)
    declare(settings, queue, good_key, retry_delay_ms=100)
    bad_id = emit_note(engine, routing_key)
    good_id = emit_note(engine, good_key)
    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    relay_batch(engine, publisher)
    publisher.close()

    with running(consumer.run):
        wait_until(lambda: queue_depth(settings, bus.dead_letter_queue(queue)) == 1, message="the dead-letter queue")
        wait_until(lambda: count(engine, Effect, Effect.message_id == good_id) == 1)

    connection = bus.connect(settings.amqp_url)
    method, properties, body = connection.channel().basic_get(bus.dead_letter_queue(queue), auto_ack=True)
    connection.close()
    assert properties.message_id == bad_id
    assert properties.headers["x-attempts"] == 3  # the first try and two retries
    assert properties.headers["x-error"] == "RuntimeError"
    assert count(engine, ProcessedMessage, ProcessedMessage.message_id == bad_id) == 0  # its effects were rolled back


@pytest.mark.parametrize("marked", [True, False], ids=["outside effects", "database only"])
def test_a_failing_message_does_not_repeat_the_others_outside_effects(engine, settings, routing_key, marked):
    """Three good messages and a failing one in one batch. A handler marked as acting outside the database runs once
    per message; an unmarked one runs again for each good message when the batch is retried one message at a time
    (its database work is rolled back in between, so only an outside call would show twice)."""
    queue = f"q.{routing_key}"
    good_key, bad_key = routing_key.replace(".created", ".good"), routing_key.replace(".created", ".bad")
    calls = []

    def call_out(envelope, uow):
        calls.append(envelope.id)
        record_effect(envelope, uow)

    consumer = make_consumer(engine, settings, queue, {good_key: outside_effects(call_out) if marked else call_out,
                                                       bad_key: always_fail}, max_retries=0, retry_delay_ms=100)
    declare(settings, queue, good_key, retry_delay_ms=100)
    declare(settings, queue, bad_key, retry_delay_ms=100)
    good_ids = [emit_note(engine, good_key) for _ in range(3)]
    emit_note(engine, bad_key)
    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    relay_batch(engine, publisher)  # all four wait in the queue before the consumer starts: one batch
    publisher.close()

    with running(consumer.run):
        wait_until(lambda: queue_depth(settings, bus.dead_letter_queue(queue)) == 1, message="the dead-letter queue")

    assert count(engine, Effect, Effect.message_id.in_(good_ids)) == 3  # each applied, once
    assert sorted(calls) == sorted(good_ids * (1 if marked else 2))


def test_unreadable_message_is_dead_lettered(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    connection = bus.connect(settings.amqp_url)
    channel = connection.channel()
    channel.basic_publish(settings.events_exchange, routing_key, b"not json", pika.BasicProperties(message_id="junk"))
    connection.close()

    with running(make_consumer(engine, settings, queue, {routing_key: record_effect}).run):
        wait_until(lambda: queue_depth(settings, bus.dead_letter_queue(queue)) == 1)

    assert queue_depth(settings, queue) == 0


def test_topic_patterns_match_like_amqp():
    assert bus.matches("registration.application.*", "registration.application.submitted")
    assert bus.matches("registration.#", "registration.application.submitted")
    assert bus.matches("#", "a.b")
    assert not bus.matches("registration.*", "registration.application.submitted")
    assert not bus.matches("consent.record.given", "consent.record.withdrawn")
