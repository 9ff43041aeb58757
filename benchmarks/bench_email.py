"""End-to-end emails per second (HTTP accept -> outbox -> RabbitMQ -> delivery worker -> SMTP sink) next to a plain
smtplib loop sending the same mails to the same sink, measured in one run. Not a test.

Like with like: both keep one SMTP connection open across mails and compose each mail with the same code
(SmtpMailer.render: email.message, flattened as smtplib's send_message() does, then sendmail). The worker composes the
next mail while the server decides on the current one; the plain loop, being plain, composes in turn. The clock starts
after a warm-up batch has gone through every process, so start-up is not measured.

Each row also gives the CPU time per mail of every process over the timed part (utime + stime from /proc; the sink is
a thread of this process, read from /proc/self/task): the figure to compare on a busy machine, where wall-clock rates
move with everyone else's load.

Run: `.venv/bin/python services/messaging/benchmarks/bench_email.py` (local PostgreSQL and RabbitMQ, or Docker).
The module also offers run(infrastructure) -> rows in the shape of benchmarks/common.py.
"""
import base64
import json
import os
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

from common import SCALE, Row, loaded
from kernel import bus
from kernel.db import UnitOfWork, make_engine, migrate
from kernel.testing import free_port
from messaging import apikeys
from messaging.channels import Outgoing, SmtpMailer
from messaging.delivery import ROUTINE_QUEUE, ensure_topology
from messaging.models import ApiKey
from messaging.settings import MessagingSettings

BATCH = 50


def _cpu_seconds(stat_path: str) -> float:
    """utime + stime of a process or thread, from /proc (Linux)."""
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of(processes: dict[str, subprocess.Popen], sink_thread: threading.Thread | None) -> dict[str, float]:
    cpu = {name: _cpu_seconds(f"/proc/{process.pid}/stat") for name, process in processes.items()}
    if sink_thread is not None and sink_thread.native_id:
        cpu["sink"] = _cpu_seconds(f"/proc/self/task/{sink_thread.native_id}/stat")
    return cpu


def _cpu_note(before: dict[str, float], after: dict[str, float], n: int) -> str:
    """CPU per mail per process over the timed part, in microseconds."""
    per_mail = {name: (after[name] - before[name]) / n * 1e6 for name in after}
    workers = sum(value for name, value in per_mail.items() if name.startswith("worker"))
    parts = [f"{name} {value:.0f}" for name, value in per_mail.items() if not name.startswith("worker")]
    return ", ".join([f"workers {workers:.0f}", *parts]) + " us CPU/mail"


class CountingSink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def plain_loop(settings: MessagingSettings, n: int) -> tuple[float, str]:
    """Mails per second straight to the sink over one SMTP connection, composed exactly as the worker composes them;
    and the CPU per mail of this process (the loop and the sink thread)."""
    mailer = SmtpMailer(settings)
    outgoing = [_outgoing(i) for i in range(n)]
    cpu = time.process_time()
    start = time.perf_counter()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
        for item in outgoing:
            _, envelope, data = mailer.render(item)  # the worker's composition, flattened as send_message() does
            smtp.sendmail(settings.mail_from, envelope, data)
    rate = n / (time.perf_counter() - start)
    return rate, f"loop+sink {(time.process_time() - cpu) / n * 1e6:.0f} us CPU/mail"


def _outgoing(i: int) -> Outgoing:
    return Outgoing(message_id=str(uuid.uuid4()), recipient={"email": f"citizen{i}@example.la", "name": "Citizen"},
                    sender={"name": "Ministry", "replyTo": "reply@moh.gov.la"},
                    content={"title": "Appointment", "content": "Your appointment is on Monday at 9:00."})


def _process(command: str, settings: MessagingSettings) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "AMQP_URL": settings.amqp_url, "ENVIRONMENT": "test",
           "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port), "MESSAGING_SECRET": settings.messaging_secret,
           "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"), "PORT": str(settings.port), "RELAY_POLL_SECONDS": "0.01"}
    return subprocess.Popen([sys.executable, "-m", "messaging", command], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(os.environ["BENCH_LOG_DIR"] + f"/{command}.log", "ab") if os.environ.get("BENCH_LOG_DIR") else subprocess.DEVNULL)


def end_to_end(infrastructure, settings: MessagingSettings, sink: CountingSink, n: int, workers: int,
               sink_thread: threading.Thread | None = None) -> tuple[float, str]:
    """As deployed: the API, the relay and `workers` consumer processes (each runs one delivery worker)."""
    run_id = uuid.uuid4().hex[:6]
    settings = settings.model_copy(update={"database_url": infrastructure.new_database(f"bench_msg_{run_id}"),
                                           "amqp_url": infrastructure.new_vhost(f"bench_msg_{run_id}"), "port": free_port()})
    engine = make_engine(settings)
    migrate(engine, "messaging.migrations")
    key = apikeys.generate()
    with UnitOfWork(engine, source="bench") as uow:
        uow.session.add(ApiKey(name="bench", key_hash=apikeys.hash_key(key)))
        uow.commit()
    ensure_topology(settings)
    named = {"api": _process("api", settings), "relay": _process("relay", settings),
             **{f"worker{i}": _process("consumer", settings) for i in range(workers)}}
    processes = list(named.values())
    url = f"http://127.0.0.1:{settings.port}"
    try:
        _wait_for(lambda: httpx.get(f"{url}/health/live").status_code == 200, timeout=180)  # start-up is slow on a busy machine
        _wait_for(lambda: _consumers(settings) >= workers, timeout=180)
        with httpx.Client(base_url=url, headers={"api_key": key}) as client:
            # A warm-up batch through the whole line: the clock starts once every process is up and serving.
            before = sink.count
            _post_batch(client, run_id, "warm-up", range(BATCH))
            _wait_for(lambda: sink.count - before >= BATCH, timeout=180)
            before = sink.count
            cpu_before = _cpu_of(named, sink_thread)
            start = time.perf_counter()
            for first in range(0, n, BATCH):
                _post_batch(client, run_id, first, range(first, min(n, first + BATCH)))
            _wait_for(lambda: sink.count - before >= n, timeout=600)
            elapsed = time.perf_counter() - start
            cpu_note = _cpu_note(cpu_before, _cpu_of(named, sink_thread), n)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        engine.dispose()
    return n / elapsed, cpu_note


def _consumers(settings: MessagingSettings) -> int:
    connection = bus.connect(settings.amqp_url)
    try:
        return connection.channel().queue_declare(ROUTINE_QUEUE, passive=True).method.consumer_count
    finally:
        connection.close()


def _post_batch(client: httpx.Client, run_id: str, label, numbers) -> None:
    batch = [{"recipientInfo": {"email": f"citizen{i}@example.la", "name": "Citizen"}} for i in numbers]
    body = {"senderInfo": {"name": "Ministry", "replyTo": "reply@moh.gov.la"},
            "recipientInfo": {"batchEmailAsBase64": base64.b64encode(json.dumps(batch).encode()).decode()},
            "emailContent": {"title": "Appointment", "content": f"Your appointment is on Monday at 9:00. ({run_id}-{label})"}}
    client.post("/send/email/batch", json=body).raise_for_status()


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark setup timed out")
        time.sleep(0.005)


def run(infrastructure) -> list[Row]:
    n = max(BATCH, int(loaded(1000) * SCALE))  # the load is the number of mails
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = MessagingSettings(smtp_host="127.0.0.1", smtp_port=controller.port, environment="test", log_level="WARNING")
        baseline, baseline_cpu = plain_loop(settings, n)
        one, one_cpu = end_to_end(infrastructure, settings, sink, n, workers=1, sink_thread=controller._thread)
        four, four_cpu = end_to_end(infrastructure, settings, sink, n, workers=4, sink_thread=controller._thread)
    finally:
        controller.stop()
    load = os.getloadavg()[0]
    note = f"plain smtplib loop, one connection, same sink, {baseline_cpu}; load average {load:.1f}"
    return [Row("messaging e2e email, 1 worker process", one, baseline, "mails/s", 0.8, note=f"{note}; ours: {one_cpu}"),
            Row("messaging e2e email, 4 worker processes", four, baseline, "mails/s", 0.8, note=f"{note}; ours: {four_cpu}")]

