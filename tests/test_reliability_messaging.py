"""1,000 emails through the Messaging BB (HTTP accept -> outbox -> relay -> RabbitMQ -> delivery worker -> a real SMTP
server) while things fail: the worker process SIGKILLed and restarted, RabbitMQ restarted, PostgreSQL restarted.
Every mail must arrive; copies are counted by Message-ID and bounded as docs/conformance/messaging.md says."""
import base64
import email
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, func, select

from kernel import bus
from kernel.db import UnitOfWork, make_engine
from kernel.outbox import OutboxMessage
from kernel.testing import free_port, serve, wait_until
from messaging import apikeys
from messaging.app import create_app
from messaging.delivery import LANES
from messaging.enums import MessageStatus
from messaging.models import ApiKey, Message
from messaging.settings import MessagingSettings

MAILS = 1_000
BATCH = 100
# SMTP has no exactly-once: a worker that dies (SIGKILL) or loses its database (restart) after the SMTP server accepted
# a mail but before its commit sends that one mail again, with the same Message-ID (docs/conformance/messaging.md).
COPIES_PER_CUT_BETWEEN_SMTP_AND_COMMIT = 1


@dataclass
class MailSink:
    """A real SMTP server's handler (aiosmtpd) that counts each arriving mail by its Message-ID."""

    copies: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        message_id = email.message_from_bytes(envelope.original_content)["Message-ID"]
        with self.lock:
            self.copies[message_id] += 1
        return "250 OK"

    def distinct(self) -> int:
        with self.lock:
            return len(self.copies)

    def duplicates(self) -> int:
        with self.lock:
            return sum(self.copies.values()) - len(self.copies)


@dataclass
class MailLine:
    """The messaging API in this process; its relay and consumer (with the delivery worker) as processes to kill."""

    settings: MessagingSettings
    engine: object
    api_url: str
    api_key: str
    sink: MailSink

    def start(self, command: str) -> subprocess.Popen:
        settings = self.settings
        env = {**os.environ, "DATABASE_URL": settings.database_url, "AMQP_URL": settings.amqp_url, "ENVIRONMENT": "test",
               "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port), "SMTP_TIMEOUT_SECONDS": "10",
               "MESSAGING_SECRET": settings.messaging_secret, "OIDC_ISSUERS": ",".join(settings.oidc_issuers),
               "CONSUMER_RETRY_DELAY_MS": str(settings.consumer_retry_delay_ms),  # queue arguments must match
               "RELAY_BATCH_SIZE": "100", "LOG_LEVEL": "WARNING"}
        return subprocess.Popen([sys.executable, "-m", "messaging", command], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accept(self, count: int) -> None:
        """Send `count` emails through the HTTP API as batches of distinct recipients."""
        for _ in range(count // BATCH):
            batch = [{"recipientInfo": {"email": f"c-{uuid.uuid4().hex[:12]}@example.la", "name": "Citizen"}} for _ in range(BATCH)]
            body = {"senderInfo": {"organisationName": "Ministry of Health", "email": "sender@moh.gov.la"},
                    "recipientInfo": {"batchEmailAsBase64": base64.b64encode(json.dumps(batch).encode()).decode()},
                    "emailContent": {"encoding": "UTF-8", "title": f"Reminder {uuid.uuid4().hex[:6]}", "content": "Your appointment is on Monday."}}
            response = httpx.post(f"{self.api_url}/send/email/batch", json=body, headers={"api_key": self.api_key}, timeout=30)
            assert response.status_code == 200, response.text

    def count(self, query) -> int:
        try:
            with Session(self.engine) as session:
                return session.exec(query).one()
        except Exception:  # the database may be restarting; a poll just tries again
            return -1

    def delivered(self) -> int:
        return self.count(select(func.count()).select_from(Message).where(Message.status == MessageStatus.delivered))

    def relayed(self) -> int:
        return self.count(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_not(None)))

    def assert_every_mail_arrived(self, *, cuts_between_smtp_and_commit: int) -> None:
        wait_until(lambda: self.delivered() == MAILS and self.sink.distinct() == MAILS, timeout=240, interval=0.2,
                   message="every mail delivered and received")
        with Session(self.engine) as session:
            message_ids = {f"<{id_}@{self.settings.mail_domain}>" for id_ in session.exec(select(Message.id)).all()}
        assert set(self.sink.copies) == message_ids  # each stored message arrived, and nothing else did
        assert self.sink.duplicates() <= cuts_between_smtp_and_commit * COPIES_PER_CUT_BETWEEN_SMTP_AND_COMMIT
        connection = bus.connect(self.settings.amqp_url)
        try:
            for queue, _ in LANES:
                assert connection.channel().queue_declare(queue=bus.dead_letter_queue(queue), passive=True).method.message_count == 0
        finally:
            connection.close()


@pytest.fixture
def mail_line(request, infrastructure, oidc_issuer):
    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    name = f"mail_{request.node.name[-40:]}".lower()
    settings = MessagingSettings(database_url=infrastructure.new_database(name), amqp_url=infrastructure.new_vhost(name),
                                 oidc_issuers=[oidc_issuer.url], environment="test", smtp_host="127.0.0.1", smtp_port=smtp.port,
                                 messaging_secret=f"test-secret-{uuid.uuid4().hex}", consumer_retry_delay_ms=500)
    engine = make_engine(settings)
    key = apikeys.generate()
    try:
        with serve(create_app(settings)) as url:  # its start migrates the database
            with UnitOfWork(engine, source="test") as uow:
                uow.session.add(ApiKey(name="reliability", key_hash=apikeys.hash_key(key)))
                uow.commit()
            yield MailLine(settings, engine, url, key, sink)
    finally:
        engine.dispose()
        smtp.stop()


@pytest.fixture
def processes():
    started: dict[str, subprocess.Popen] = {}
    yield started
    for process in started.values():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_every_mail_arrives_across_worker_kills(mail_line, processes):
    mail_line.accept(MAILS // 2)
    processes["relay"] = mail_line.start("relay")
    processes["consumer"] = mail_line.start("consumer")
    wait_until(lambda: mail_line.delivered() >= 150, timeout=120, message="the worker to be mid-stream")

    kill(processes["consumer"])  # its in-flight mail may have reached the SMTP server without being committed
    assert mail_line.sink.distinct() < MAILS // 2
    mail_line.accept(MAILS // 2)  # the API keeps accepting while no worker runs
    processes["consumer"] = mail_line.start("consumer")
    wait_until(lambda: mail_line.delivered() >= 650, timeout=120, message="more than half of the mails")
    kill(processes["consumer"])
    assert mail_line.sink.distinct() < MAILS
    kill(processes["relay"])  # delivery requests published but not yet marked are published again: harmless
    processes["relay"] = mail_line.start("relay")
    processes["consumer"] = mail_line.start("consumer")

    mail_line.assert_every_mail_arrived(cuts_between_smtp_and_commit=2)


def test_every_mail_arrives_across_a_broker_restart(mail_line, processes, infrastructure):
    mail_line.accept(MAILS)
    processes["relay"] = mail_line.start("relay")
    processes["consumer"] = mail_line.start("consumer")
    wait_until(lambda: mail_line.delivered() >= 200, timeout=120, message="a fifth of the mails")

    infrastructure.restart_broker()

    # The worker touches no broker between the SMTP send and its commit: a lost ack only redelivers a request that
    # the worker then skips (the message is no longer queued), so no mail is sent twice.
    mail_line.assert_every_mail_arrived(cuts_between_smtp_and_commit=0)


def test_every_mail_arrives_across_a_database_restart(mail_line, processes, infrastructure):
    mail_line.accept(MAILS)
    processes["relay"] = mail_line.start("relay")
    processes["consumer"] = mail_line.start("consumer")
    wait_until(lambda: mail_line.delivered() >= 200, timeout=120, message="a fifth of the mails")

    infrastructure.restart_database()

    # The mail in flight may have been accepted by the SMTP server when its commit failed; it is sent once more.
    mail_line.assert_every_mail_arrived(cuts_between_smtp_and_commit=1)
