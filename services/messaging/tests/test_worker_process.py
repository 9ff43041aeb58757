"""The real consumer process (`python -m messaging consumer`, which runs the delivery worker): killed hard mid-batch, restarted."""
import email
import email.policy
import os
import signal
import subprocess
import sys

import pytest

from aiosmtpd.controller import Controller

from kernel import bus
from kernel.testing import free_port, wait_until
from .conftest import SmtpSink
from .helpers import address, email_body, send, status


def start_consumer_process(settings) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "AMQP_URL": settings.amqp_url, "ENVIRONMENT": "test",
           "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port), "MESSAGING_SECRET": settings.messaging_secret,
           "OIDC_ISSUERS": ",".join(settings.oidc_issuers), "SMS_GATEWAY_URL": settings.sms_gateway_url, "LOG_LEVEL": "WARNING",
           "CONSUMER_RETRY_DELAY_MS": str(settings.consumer_retry_delay_ms)}  # queue arguments must match the declared queues
    return subprocess.Popen([sys.executable, "-m", "messaging", "consumer"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class KillingSink(SmtpSink):
    """Kills the worker process while the SMTP server has taken mail number `kill_at` but before the worker hears its
    250: the one moment SMTP leaves the outcome unknown to the sender."""

    def __init__(self, kill_at: int, *, take: bool = True):
        super().__init__()
        # take=False: the kill comes before the server takes the mail (it keeps nothing and never answers 250), as
        # for a kill anywhere else in the batch: then nothing is unknown, and every mail must arrive exactly once.
        self.kill_at, self.take, self.victim, self.killed_on, self.seen = kill_at, take, None, None, 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen == self.kill_at and self.victim is not None:
            answer = await super().handle_DATA(server, session, envelope) if self.take else "421 closing"
            self.victim.send_signal(signal.SIGKILL)
            self.victim.wait(timeout=10)
            self.killed_on = envelope.rcpt_tos[0]
            return answer
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def killing_sink():
    sink = KillingSink(kill_at=23)  # mid-batch: the worker's batch of 50 holds mails already taken and not committed
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


def test_worker_killed_mid_batch_resends_only_the_mail_whose_outcome_it_never_heard(base_url, api_key, killing_sink, settings, engine, pipeline, processes):
    sink, port = killing_sink
    line = settings.model_copy(update={"smtp_port": port})
    recipients = [address("killed") for _ in range(80)]
    request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")

    processes.append(start_consumer_process(line))
    sink.victim = processes[0]
    wait_until(lambda: sink.killed_on is not None, timeout=60, message="the kill inside the SMTP transaction")
    processes.append(start_consumer_process(line))
    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 80, timeout=60, message="the rest after restart")

    copies = {recipient: sink.to(recipient) for recipient in recipients}
    # Exactly one copy too many, of exactly the mail in flight: mails taken before it in the killed worker's
    # uncommitted batch were journaled and are settled, not sent again.
    assert sorted(len(mails) for mails in copies.values()) == [1] * 79 + [2]
    assert len(copies[sink.killed_on]) == 2
    [header] = {email.message_from_bytes(mail.content)["Message-ID"] for mail in copies[sink.killed_on]}
    assert _flagged(engine, request_uid) == {header.strip("<>").split("@")[0]}  # the history names the possible duplicate


def test_worker_killed_mid_batch_before_the_server_took_the_mail_delivers_every_mail_exactly_once(base_url, api_key, settings, pipeline,
                                                                                                 processes):
    sink = KillingSink(kill_at=23, take=False)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        line = settings.model_copy(update={"smtp_port": controller.port})
        recipients = [address("killed-early") for _ in range(80)]
        request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")

        processes.append(start_consumer_process(line))
        sink.victim = processes[0]
        wait_until(lambda: sink.killed_on is not None, timeout=60, message="the kill inside the SMTP transaction")
        processes.append(start_consumer_process(line))
        wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 80, timeout=60, message="the rest after restart")
    finally:
        controller.stop()

    # The killed worker's batch held 22 mails the server had taken, uncommitted: settled from the journal, not resent;
    # the 23rd was never taken, so it is sent (once) after the restart.
    assert sorted(len(sink.to(recipient)) for recipient in recipients) == [1] * 80


def _flagged(engine, request_uid: str) -> set[str]:
    from sqlmodel import Session, select

    from messaging.models import Message, MessageStatusEvent, SendRequest

    with Session(engine) as session:
        rows = session.exec(select(MessageStatusEvent.message_id, MessageStatusEvent.detail)
                            .join(Message, Message.id == MessageStatusEvent.message_id)
                            .join(SendRequest, SendRequest.id == Message.request_id)
                            .where(SendRequest.request_uid == request_uid)).all()
    return {message_id for message_id, detail in rows if detail == "possible_duplicate"}


def consumers_on(settings, queue: str) -> int:
    connection = bus.connect(settings.amqp_url)
    try:
        return connection.channel().queue_declare(queue=queue, passive=True).method.consumer_count
    finally:
        connection.close()


def test_consumer_process_stops_cleanly_on_sigterm(settings, pipeline, processes):
    already = consumers_on(settings, settings.service_name)  # the test session's own consumer
    processes.append(start_consumer_process(settings))
    wait_until(lambda: consumers_on(settings, settings.service_name) > already, timeout=30, message="process consuming")

    processes[0].terminate()

    assert processes[0].wait(timeout=30) == 0
