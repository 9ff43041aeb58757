"""A relay or consumer process over a small table, for tests that kill and restart such processes.

python bus_worker.py init|relay|consumer DATABASE_URL AMQP_URL QUEUE
"""
import sys

from sqlmodel import Field

from kernel.consumer import Consumer
from kernel.db import make_engine
from kernel.events import Event
from kernel.outbox import service_base
from kernel.relay import run as run_relay
from kernel.settings import ServiceSettings

Base = service_base()


class Effect(Base, table=True):
    """One row per applied event; a non-unique message_id lets a test see any double application."""

    seq: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(index=True)


class Counted(Event):
    type = "reliability.counted"
    n: int


def apply_effect(envelope, uow) -> None:
    uow.session.add(Effect(message_id=envelope.id))


def main(command: str, database_url: str, amqp_url: str, queue: str) -> None:
    settings = ServiceSettings(service_name=queue, database_url=database_url, amqp_url=amqp_url, log_format="text")
    engine = make_engine(settings)
    if command == "init":
        Base.metadata.create_all(engine)
    elif command == "relay":
        run_relay(engine, amqp_url=amqp_url, exchange=settings.events_exchange)
    elif command == "consumer":
        Consumer(engine, amqp_url=amqp_url, exchange=settings.events_exchange, queue=queue, source=queue,
                 handlers={Counted.type: apply_effect}, retry_delay_ms=500).run()


if __name__ == "__main__":
    main(*sys.argv[1:5])
