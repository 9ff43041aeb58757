"""10,000 events through outbox -> relay -> RabbitMQ -> consumer while things fail: relay and consumer SIGKILLed and
restarted, RabbitMQ restarted, PostgreSQL restarted. Every event must take effect exactly once."""
import importlib.util
import signal
import subprocess
import sys
from dataclasses import dataclass
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


worker = load_worker()


@dataclass
class Pipeline:
    """A database with 10,000 committed events, a queue for them, and relay/consumer processes to start and kill."""

    database_url: str
    amqp_url: str
    queue: str
    engine: object

    def start(self, command: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(WORKER), command, self.database_url, self.amqp_url, self.queue],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def count(self, query) -> int:
        try:
            with Session(self.engine) as session:
                return session.exec(query).one()
        except Exception:  # the database may be restarting; a poll just tries again
            return -1

    def applied(self) -> int:
        return self.count(select(func.count(func.distinct(worker.Effect.message_id))))

    def sent(self) -> int:
        return self.count(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_not(None)))

    def assert_each_event_applied_once(self) -> None:
        wait_until(lambda: self.applied() == EVENTS, timeout=240, interval=0.2, message="every event")
        assert self.count(select(func.count()).select_from(worker.Effect)) == EVENTS  # none applied twice
        connection = bus.connect(self.amqp_url)
        dead = connection.channel().queue_declare(queue=bus.dead_letter_queue(self.queue), passive=True).method.message_count
        connection.close()
        assert dead == 0


def pipeline(infrastructure, name: str) -> Pipeline:
    database_url, amqp_url = infrastructure.new_database(name), infrastructure.new_vhost(name)
    subprocess.run([sys.executable, str(WORKER), "init", database_url, amqp_url, name], check=True)
    engine = make_engine(ServiceSettings(database_url=database_url))
    connection = bus.connect(amqp_url)
    bus.declare_consumer_queues(connection.channel(), exchange="govstack.events", queue=name,
                                bindings=[worker.Counted.type], retry_delay_ms=500)
    connection.close()
    for first in range(0, EVENTS, 1000):
        with UnitOfWork(engine, source=name) as uow:
            for n in range(first, first + 1000):
                uow.emit(worker.Counted(n=n))
            uow.commit()
    return Pipeline(database_url, amqp_url, name, engine)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop_all(processes: dict) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_every_event_takes_effect_once_across_process_kills(infrastructure):
    line = pipeline(infrastructure, "reliability_kill")
    processes = {"relay": line.start("relay")}
    try:
        wait_until(lambda: line.sent() >= 1000, timeout=60, interval=0.01, message="the relay to be mid-stream")
        kill(processes["relay"])  # rows published but not yet marked are published again on restart
        assert line.sent() < EVENTS
        processes["relay"] = line.start("relay")
        processes["consumer"] = line.start("consumer")
        wait_until(lambda: line.applied() >= 2000, timeout=120, message="a fifth of the events")
        kill(processes["consumer"])  # its unacked batch must come back; its committed one must not repeat
        processes["consumer"] = line.start("consumer")
        wait_until(lambda: line.applied() >= 6000, timeout=120, message="more than half of the events")
        kill(processes["consumer"])
        processes["consumer"] = line.start("consumer")
        line.assert_each_event_applied_once()
    finally:
        stop_all(processes)


def test_every_event_takes_effect_once_across_a_broker_restart(infrastructure):
    line = pipeline(infrastructure, "reliability_broker")
    processes = {"consumer": line.start("consumer"), "relay": line.start("relay")}
    try:
        wait_until(lambda: line.applied() >= 2000, timeout=120, message="a fifth of the events")
        infrastructure.restart_broker()
        line.assert_each_event_applied_once()
    finally:
        stop_all(processes)


def test_every_event_takes_effect_once_across_a_database_restart(infrastructure):
    line = pipeline(infrastructure, "reliability_database")
    processes = {"consumer": line.start("consumer"), "relay": line.start("relay")}
    try:
        wait_until(lambda: line.applied() >= 2000, timeout=120, message="a fifth of the events")
        infrastructure.restart_database()
        line.assert_each_event_applied_once()
    finally:
        stop_all(processes)
