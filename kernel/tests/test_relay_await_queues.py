"""On a fresh broker a relay holds events back until the consumers it is told about have declared their queues.

Without that, relays and consumers starting together (compose, Kubernetes, `make run`) could publish an event before its
consumer's queue is bound, and the broker would drop it as unroutable. Real PostgreSQL and RabbitMQ.
"""
import logging
import time

from sqlmodel import Session, select

from kernel import bus, relay
from kernel.outbox import OutboxMessage
from kernel.testing import running, wait_until

from .conftest import Effect, emit_note
from .test_event_bus import count, make_consumer, queue_depth, record_effect


def _sent(engine, message_id: str) -> bool:
    with Session(engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.id == message_id)).one().sent_at is not None


def test_events_wait_in_the_outbox_until_their_consumer_has_bound_its_queue(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    message_id = emit_note(engine, routing_key)
    with running(lambda stop: relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange,
                                        poll_seconds=0.05, await_queues=[queue], stop=stop)):
        time.sleep(1.5)  # many polls' worth: a relay that did not wait would have published (and the broker dropped) it
        assert not _sent(engine, message_id)
        consumer = make_consumer(engine, settings, queue, {routing_key: record_effect})
        consumer.declare()  # what the consumer does first when it starts
        wait_until(lambda: _sent(engine, message_id), timeout=10, message="the event to be published once the queue exists")
        assert queue_depth(settings, queue) == 1
        with running(consumer.run):
            wait_until(lambda: count(engine, Effect, Effect.message_id == message_id) == 1, message="the event to take effect")


def test_a_consumer_counts_as_declared_only_once_its_dead_letter_queue_exists(settings, routing_key, caplog):
    """The dead-letter queue is declared after the bindings, so its existence means the events are routed."""
    queue = f"q.{routing_key}"
    connection = bus.connect(settings.amqp_url)
    try:
        with caplog.at_level(logging.WARNING):
            assert not bus.consumer_declared(connection, queue)
        assert not caplog.records, "asking for a queue that does not exist yet is not worth a warning"
        connection.channel().queue_declare(queue=queue, durable=True, arguments=bus.QUORUM)  # the queue alone
        assert not bus.consumer_declared(connection, queue)
        bus.declare_consumer_queues(connection.channel(), exchange=settings.events_exchange, queue=queue,
                                    bindings=[routing_key], retry_delay_ms=2000)
        assert bus.consumer_declared(connection, queue)
    finally:
        connection.close()


def test_a_waiting_relay_stops_promptly(engine, settings, routing_key):
    with running(lambda stop: relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange,
                                        await_queues=[f"q.{routing_key}"], stop=stop)) as thread:
        time.sleep(0.3)
        assert thread.is_alive()
    assert not thread.is_alive()  # running() gave it 15 s after the stop; relay.AWAIT_CHECK_SECONDS is 1
