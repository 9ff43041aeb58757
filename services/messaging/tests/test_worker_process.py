"""The real consumer process (`python -m messaging consumer`, which runs the delivery worker): killed hard mid-batch, restarted."""
import email
import email.policy
import os
import signal
import subprocess
import sys

import pytest

from kernel import bus

from kernel.testing import wait_until
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


def test_worker_killed_mid_batch_loses_nothing_and_resends_at_most_the_mail_in_flight(base_url, api_key, smtp_sink, settings, pipeline, processes):
    sink, _ = smtp_sink
    recipients = [address("killed") for _ in range(80)]
    arrived = lambda: sum(len(sink.to(recipient)) for recipient in recipients)  # noqa: E731
    request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")

    processes.append(start_consumer_process(settings))
    wait_until(lambda: arrived() >= 5, timeout=60, message="first mails from the process")
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    killed_at = arrived()
    processes.append(start_consumer_process(settings))
    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 80, timeout=60, message="the rest after restart")

    assert killed_at < 80  # the kill really happened mid-batch
    copies = {recipient: sink.to(recipient) for recipient in recipients}
    assert all(len(mails) >= 1 for mails in copies.values())
    # SMTP has no exactly-once: a mail accepted by the server just before the kill may be sent again, with the same Message-ID.
    assert sum(len(mails) for mails in copies.values()) - 80 <= 1
    for mails in copies.values():
        assert len({email.message_from_bytes(mail.content)["Message-ID"] for mail in mails}) == 1


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
