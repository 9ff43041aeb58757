"""10,000 events through outbox -> relay -> RabbitMQ -> consumer while the processes are SIGKILLed and restarted."""
import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, func, select

from kernel import bus
from kernel.db import UnitOfWork, make_engine
from kernel.outbox import OutboxMessage
from kernel.settings import ServiceSettings
from kernel.testing import wait_until

WORKER = Path(__file__).parent / "support" / "bus_worker.py"
EVENTS = 10_000


def load_worker():
    spec = importlib.util.spec_from_file_location("bus_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start(command: str, database_url: str, amqp_url: str, queue: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), command, database_url, amqp_url, queue],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_every_event_takes_effect_exactly_once_across_process_kills(infrastructure):
    worker = load_worker()
    database_url, amqp_url, queue = infrastructure.new_database("reliability"), infrastructure.new_vhost("reliability"), "reliability"
    subprocess.run([sys.executable, str(WORKER), "init", database_url, amqp_url, queue], check=True)
    engine = make_engine(ServiceSettings(database_url=database_url))
    connection = bus.connect(amqp_url)
    bus.declare_consumer_queues(connection.channel(), exchange="govstack.events", queue=queue,
                                bindings=[worker.Counted.type], retry_delay_ms=500)
    connection.close()
    for first in range(0, EVENTS, 1000):
        with UnitOfWork(engine, source="reliability") as uow:
            for n in range(first, first + 1000):
                uow.emit(worker.Counted(n=n))
            uow.commit()

    def applied() -> int:
        with Session(engine) as session:
            return session.exec(select(func.count(func.distinct(worker.Effect.message_id)))).one()

    def sent() -> int:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_not(None))).one()

    processes = {"relay": start("relay", database_url, amqp_url, queue)}
    try:
        wait_until(lambda: sent() >= 1000, timeout=60, interval=0.01, message="the relay to be mid-stream")
        kill(processes["relay"])  # rows published but not yet marked are published again on restart
        assert sent() < EVENTS
        processes["relay"] = start("relay", database_url, amqp_url, queue)
        processes["consumer"] = start("consumer", database_url, amqp_url, queue)
        wait_until(lambda: applied() >= 2000, timeout=120, message="a fifth of the events")
        kill(processes["consumer"])  # its unacked batch must come back; its committed one must not repeat
        processes["consumer"] = start("consumer", database_url, amqp_url, queue)
        wait_until(lambda: applied() >= 6000, timeout=120, message="more than half of the events")
        kill(processes["consumer"])
        processes["consumer"] = start("consumer", database_url, amqp_url, queue)
        wait_until(lambda: applied() == EVENTS, timeout=180, message="every event")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)

    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(worker.Effect)).one()
    assert total == EVENTS  # none applied twice
    assert applied() == EVENTS  # none lost
    connection = bus.connect(amqp_url)
    channel = connection.channel()
    assert channel.queue_declare(queue=bus.dead_letter_queue(queue), passive=True).method.message_count == 0
    connection.close()
