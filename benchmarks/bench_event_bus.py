"""Event bus (outbox -> relay with confirms -> RabbitMQ -> idempotent consumer) vs raw pika on the same broker.

Both sides move the same messages the same way, so the ratio is what the bus's guarantees cost: the same CloudEvents
body and properties, persistent, through a durable topic exchange into a quorum queue, consumed with manual acks at the
consumer's prefetch; a publishing thread and a consuming thread start together and the clock runs from before either
connects until the last message is done (acked by raw pika; applied and committed by ours).
"""
import threading
import time
import uuid

import pika
from sqlmodel import Field, Session, func, select

from common import Row, loaded, scaled
from kernel import bus
from kernel.consumer import Consumer
from kernel.db import UnitOfWork, make_engine
from kernel.events import Envelope, Event
from kernel.outbox import ProcessedMessage, service_base
from kernel.relay import run as run_relay
from kernel.settings import ServiceSettings
from kernel.telemetry import setup_tracing

Base = service_base()
EXCHANGE = "govstack.events"
POLL_SECONDS = 0.01


class Counted(Base, table=True):
    message_id: str = Field(primary_key=True)


class Ticked(Event):
    type = "bench.tick"
    n: int


def raw_message(n: int) -> tuple[bytes, pika.BasicProperties]:
    """What the relay sends for a Ticked event: the same envelope, properties and trace header."""
    envelope = Envelope.new(source="bench", type=Ticked.type, data=Ticked(n=n).model_dump(mode="json"))
    headers = {"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"}
    return envelope.to_bytes(), pika.BasicProperties(
        message_id=envelope.id, type=envelope.type, content_type="application/cloudevents+json",
        delivery_mode=pika.DeliveryMode.Persistent, headers=headers, timestamp=int(envelope.time.timestamp()))


def raw_pika(amqp_url: str, n: int, *, confirms: bool, prefetch: int) -> float:
    """Messages per second through raw pika: one thread publishes n messages (with a synchronous confirm each, or none),
    another consumes them with manual acks (one per message, the plain pika way), both started together."""
    queue = f"bench.raw.{uuid.uuid4().hex[:6]}"
    connection = bus.connect(amqp_url)
    bus.declare_exchange(connection.channel(), EXCHANGE)
    connection.channel().queue_declare(queue, durable=True, arguments=bus.QUORUM)
    connection.channel().queue_bind(queue, EXCHANGE, routing_key=Ticked.type)
    messages = [raw_message(i) for i in range(n)]  # made before the clock starts, as the outbox rows are

    def publish():
        publishing = bus.connect(amqp_url)
        channel = publishing.channel()
        if confirms:
            channel.confirm_delivery()  # basic_publish then waits for each message's confirm
        for body, properties in messages:
            channel.basic_publish(EXCHANGE, Ticked.type, body, properties)
        publishing.close()

    def consume():
        consuming = bus.connect(amqp_url)
        channel = consuming.channel()
        channel.basic_qos(prefetch_count=prefetch)
        received = 0
        for method, _, _ in channel.consume(queue):
            channel.basic_ack(method.delivery_tag)
            received += 1
            if received == n:
                break
        channel.cancel()
        consuming.close()

    threads = [threading.Thread(target=publish), threading.Thread(target=consume)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    connection.channel().queue_delete(queue)
    connection.close()
    return n / elapsed


def kernel_bus(infrastructure, n: int) -> tuple[float, int]:
    """Messages per second from committed outbox rows to handled messages, and the consumer's prefetch."""
    settings = ServiceSettings(service_name="bench", database_url=infrastructure.new_database("bench_bus"),
                               amqp_url=infrastructure.new_vhost("bench_bus"))
    setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)  # as `python -m <svc> relay|consumer` do
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    with UnitOfWork(engine, source="bench") as uow:  # the state changes themselves are not what is measured
        for i in range(n):
            uow.emit(Ticked(n=i))
        uow.commit()

    def count(session) -> int:
        return session.exec(select(func.count()).select_from(ProcessedMessage)).one()

    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="bench",
                        source="bench", handlers={Ticked.type: lambda e, uow: uow.session.add(Counted(message_id=e.id))},
                        prefetch=settings.consumer_prefetch)
    stop = threading.Event()
    connection = bus.connect(settings.amqp_url)  # declare first so nothing published is unroutable
    bus.declare_consumer_queues(connection.channel(), exchange=settings.events_exchange, queue="bench", bindings=[Ticked.type], retry_delay_ms=consumer.retry_delay_ms)
    connection.close()
    threads = [threading.Thread(target=consumer.run, args=(stop,)),
               threading.Thread(target=run_relay, args=(engine,), kwargs={"amqp_url": settings.amqp_url, "exchange": settings.events_exchange,
                                                                          "batch_size": settings.relay_batch_size, "stop": stop})]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    with Session(engine) as session:
        while count(session) < n:
            time.sleep(POLL_SECONDS)
    elapsed = time.perf_counter() - start
    stop.set()
    for thread in threads:
        thread.join()
    engine.dispose()
    return n / elapsed, consumer.prefetch


def run(infrastructure) -> list[Row]:
    n = scaled(loaded(3000))  # the load is the size of the burst of events
    ours, prefetch = kernel_bus(infrastructure, n)
    amqp_url = infrastructure.new_vhost("bench_raw")
    raw = raw_pika(amqp_url, n, confirms=False, prefetch=prefetch)
    raw_confirmed = raw_pika(amqp_url, scaled(loaded(1000)), confirms=True, prefetch=prefetch)
    both = (f"{n} persistent CloudEvents through a topic exchange into a quorum queue, publisher and consumer threads "
            f"started together, manual acks at prefetch {prefetch}")
    return [
        Row("event bus vs raw pika (no confirms)", ours, raw, "msg/s", 0.5,
            note=f"raw pika: {both}, no publisher confirms, an ack per message; ours: relay with batched confirms, "
                 "consumer with dedupe and one commit per batch, ack after it"),
        Row("event bus vs raw pika (sync confirm per message)", ours, raw_confirmed, "msg/s", None,
            note="raw pika as above but waiting for each publish's confirm"),
    ]
