"""Event bus (outbox -> relay with confirms -> RabbitMQ -> idempotent consumer) vs raw pika on the same broker."""
import threading
import time
import uuid

import pika
from sqlmodel import Field, Session, func, select

from common import Row, loaded, scaled
from kernel import bus
from kernel.consumer import Consumer
from kernel.db import UnitOfWork, make_engine
from kernel.events import Event
from kernel.outbox import ProcessedMessage, service_base
from kernel.relay import run as run_relay
from kernel.settings import ServiceSettings

Base = service_base()


class Counted(Base, table=True):
    message_id: str = Field(primary_key=True)


class Ticked(Event):
    type = "bench.tick"
    n: int


def raw_pika(amqp_url: str, n: int, *, confirms: bool) -> float:
    """Messages per second for publishing n persistent messages to a quorum queue and consuming them with acks."""
    queue = f"bench.raw.{uuid.uuid4().hex[:6]}"
    connection = bus.connect(amqp_url)
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments=bus.QUORUM)
    if confirms:
        channel.confirm_delivery()
    body = b'{"n": 1}'
    start = time.perf_counter()
    for _ in range(n):
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    received = 0
    channel.basic_qos(prefetch_count=50)
    for method, _, _ in channel.consume(queue):
        channel.basic_ack(method.delivery_tag)
        received += 1
        if received == n:
            break
    elapsed = time.perf_counter() - start
    channel.cancel()
    channel.queue_delete(queue)
    connection.close()
    return n / elapsed


def kernel_bus(infrastructure, n: int) -> float:
    settings = ServiceSettings(service_name="bench", database_url=infrastructure.new_database("bench_bus"),
                               amqp_url=infrastructure.new_vhost("bench_bus"))
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    with UnitOfWork(engine, source="bench") as uow:  # the state changes themselves are not what is measured
        for i in range(n):
            uow.emit(Ticked(n=i))
        uow.commit()

    def count(session) -> int:
        return session.exec(select(func.count()).select_from(ProcessedMessage)).one()

    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="bench",
                        source="bench", handlers={Ticked.type: lambda e, uow: uow.session.add(Counted(message_id=e.id))})
    stop = threading.Event()
    connection = bus.connect(settings.amqp_url)  # declare first so nothing published is unroutable
    bus.declare_consumer_queues(connection.channel(), exchange=settings.events_exchange, queue="bench", bindings=[Ticked.type], retry_delay_ms=consumer.retry_delay_ms)
    connection.close()
    threads = [threading.Thread(target=consumer.run, args=(stop,)),
               threading.Thread(target=run_relay, args=(engine,), kwargs={"amqp_url": settings.amqp_url, "exchange": settings.events_exchange, "stop": stop})]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    with Session(engine) as session:
        while count(session) < n:
            time.sleep(0.05)
    elapsed = time.perf_counter() - start
    stop.set()
    for thread in threads:
        thread.join()
    engine.dispose()
    return n / elapsed


def run(infrastructure) -> list[Row]:
    n = scaled(loaded(3000))  # the load is the size of the burst of events
    amqp_url = infrastructure.new_vhost("bench_raw")
    raw = raw_pika(amqp_url, n, confirms=False)
    raw_confirmed = raw_pika(amqp_url, scaled(loaded(1000)), confirms=True)
    ours = kernel_bus(infrastructure, n)
    return [
        Row("event bus vs raw pika (no confirms)", ours, raw, "msg/s", 0.5, note="raw pika publish+consume, persistent"),
        Row("event bus vs raw pika (sync confirm per message)", ours, raw_confirmed, "msg/s", None, note="raw pika with confirms"),
    ]
