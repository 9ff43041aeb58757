"""Refusals by the SMTP server: temporary ones are retried with backoff until the retry window ends, permanent ones bounce."""
import pytest
from sqlmodel import Session, select

from kernel import relay
from kernel.testing import running, serve, wait_until
from messaging.app import create_app
from messaging.delivery import DeliveryWorker, backoff, ensure_topology
from messaging.models import Message, SendRequest
from .conftest import make_api_key
from .helpers import email_body, send, status, unique


@pytest.fixture(scope="module")
def short_window(settings, infrastructure):
    """Its own database and vhost, and a retry window of two seconds instead of 24 hours."""
    return settings.model_copy(update={
        "database_url": infrastructure.new_database("messaging_failures"),
        "amqp_url": infrastructure.new_vhost("messaging_failures"),
        "retry_base_seconds": 0.2, "retry_max_interval_seconds": 0.4, "retry_window_seconds": 2.0,
    })


@pytest.fixture(scope="module")
def stack(short_window):
    from kernel.db import make_engine

    with serve(create_app(short_window)) as url:
        engine = make_engine(short_window)
        ensure_topology(short_window)
        with running(lambda stop: relay.run(engine, amqp_url=short_window.amqp_url, exchange=short_window.events_exchange, poll_seconds=0.02, stop=stop)), \
             running(DeliveryWorker(engine, short_window).run):
            yield url, engine, make_api_key(engine)
        engine.dispose()


def _message(engine, request_uid: str) -> Message:
    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
        return session.exec(select(Message).where(Message.request_id == request.id)).one()


def test_temporary_refusals_are_retried_then_reported_not_sent(stack):
    url, engine, key = stack

    request_uid = send(url, key, email_body(f"later-{unique()}@example.la"))

    wait_until(lambda: status(url, key, request_uid, "deferred")["deferred"] == 1, message="first deferral")
    try:
        wait_until(lambda: status(url, key, request_uid, "not sent")["not sent"] == 1, timeout=20, message="failed after the window")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the message: {_message(engine, request_uid)}") from None
    message = _message(engine, request_uid)
    assert message.attempts >= 3 and message.last_error == "smtp_451"
    assert message.recipient_enc is not None  # kept until the retention period ends, not erased by failing


def test_permanent_refusal_bounces_without_retry(stack):
    url, engine, key = stack

    request_uid = send(url, key, email_body(f"bounce-{unique()}@example.la"))

    wait_until(lambda: status(url, key, request_uid, "bounced")["bounced"] == 1, message="bounce")
    assert _message(engine, request_uid).attempts == 1


def test_backoff_doubles_and_is_capped(settings):
    long = settings.model_copy(update={"retry_base_seconds": 30, "retry_max_interval_seconds": 3600})

    assert [backoff(n, long).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_queued_message_whose_delivery_request_was_lost_is_requested_again(stack, short_window, smtp_sink):
    from datetime import datetime, timedelta, timezone

    from kernel.db import UnitOfWork
    from messaging import crypto
    from messaging.models import new_id

    url, engine, key = stack
    sink, _ = smtp_sink
    recipient, now = f"lost-{unique()}@example.la", datetime.now(timezone.utc)
    # A message stored as queued but never published (as if the broker had lost its delivery request).
    with UnitOfWork(engine, source="test") as uow:
        request = SendRequest(request_uid=unique("uid"), caller="test", channel="email", priority="routine", content_hash=new_id(),
                              dedupe_window=0, content_enc=crypto.encrypt(short_window.messaging_secret, {"title": "t", "content": "c"}))
        uow.session.add(request)
        uow.session.flush()
        uow.session.add(Message(request_id=request.id, recipient_enc=crypto.encrypt(short_window.messaging_secret, {"email": recipient}),
                                status="queued", created_at=now, updated_at=now - timedelta(seconds=short_window.requeue_stuck_after_seconds + 1)))
        uow.commit()

    [mail] = wait_until(lambda: sink.to(recipient), message="recovered delivery")
    assert mail.recipients == [recipient]


def test_message_queued_longer_than_the_retry_window_is_failed(stack, short_window):
    from datetime import datetime, timedelta, timezone

    from kernel.db import UnitOfWork
    from messaging import crypto
    from messaging.models import new_id

    url, engine, key = stack
    long_ago = datetime.now(timezone.utc) - timedelta(seconds=short_window.retry_window_seconds + 1)
    with UnitOfWork(engine, source="test") as uow:
        request = SendRequest(request_uid=unique("uid"), caller="test", channel="email", priority="routine", content_hash=new_id(),
                              dedupe_window=0, content_enc=crypto.encrypt(short_window.messaging_secret, {"title": "t", "content": "c"}))
        uow.session.add(request)
        uow.session.flush()
        message = Message(request_id=request.id, recipient_enc=crypto.encrypt(short_window.messaging_secret, {"email": "old@example.la"}),
                          status="queued", created_at=long_ago, updated_at=long_ago)
        uow.session.add(message)
        uow.commit()

    failed = wait_until(lambda: (row := _message_by_id(engine, message.id)).status == "failed" and row, message="expired message failed")
    assert (failed.attempts, failed.last_error) == (0, "expired_in_queue")


def _message_by_id(engine, message_id: str) -> Message:
    with Session(engine) as session:
        return session.get(Message, message_id)
