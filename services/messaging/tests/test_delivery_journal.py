"""What a killed worker leaves behind: its successor settles mails the provider took and resends only the one whose
outcome is unknown (flagged); several workers share one request's batch without skipping any message."""
from sqlmodel import Session, select

from kernel.db import UnitOfWork
from kernel.testing import running, wait_until
from messaging.channels import default_senders
from messaging.delivery import DeliveryWorker, deliver_batch
from messaging.enums import Channel, Priority
from messaging.models import Message, MessageStatusEvent
from messaging.queueing import accept
from .helpers import address, email_body, send, status


def queued_message(engine, settings, recipient: str) -> str:
    with UnitOfWork(engine, source="test") as uow:
        request, _ = accept(uow, settings=settings, caller="internal", channel=Channel.email, priority=Priority.routine,
                            recipients=[{"email": recipient, "name": None}], sender=None,
                            content={"title": "Reminder", "content": "Your card is ready."}, callback_uri=None, dedupe=False)
        uow.commit()
        return uow.session.exec(select(Message.id).where(Message.request_id == request.id)).one()


def journal(engine, message_id: str, *statuses: str) -> None:
    """Rows a worker journals before it dies: attempt 1, never committed with the message."""
    with Session(engine) as session:
        session.add_all([MessageStatusEvent(message_id=message_id, attempt=1, status=status, source="worker") for status in statuses])
        session.commit()


def events_of(engine, message_id: str) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(MessageStatusEvent).where(MessageStatusEvent.message_id == message_id).order_by(MessageStatusEvent.id)).all()
        return [(row.status, row.detail) for row in rows]


def test_mail_the_server_took_before_the_kill_is_settled_not_sent_again(engine, settings, smtp_sink):
    sink, _ = smtp_sink
    recipient = address("taken")
    message_id = queued_message(engine, settings, recipient)
    journal(engine, message_id, "sending", "delivered")

    result = deliver_batch(engine, settings=settings, senders=default_senders(settings), message_ids=[message_id])

    assert result == {message_id: "delivered"}
    assert sink.to(recipient) == []
    assert events_of(engine, message_id)[-1] == ("delivered", "settled_from_journal")
    with Session(engine) as session:
        assert (session.get(Message, message_id).status, session.get(Message, message_id).attempts) == ("delivered", 1)


def test_mail_whose_outcome_is_unknown_is_sent_again_and_flagged(engine, settings, smtp_sink):
    sink, _ = smtp_sink
    recipient = address("unknown")
    message_id = queued_message(engine, settings, recipient)
    journal(engine, message_id, "sending")

    result = deliver_batch(engine, settings=settings, senders=default_senders(settings), message_ids=[message_id])

    assert result == {message_id: "delivered"}
    assert len(sink.to(recipient)) == 1
    assert events_of(engine, message_id)[-2:] == [("sending", "possible_duplicate"), ("delivered", None)]


def test_mail_never_started_is_sent_without_a_flag(engine, settings, smtp_sink):
    sink, _ = smtp_sink
    recipient = address("fresh")
    message_id = queued_message(engine, settings, recipient)

    deliver_batch(engine, settings=settings, senders=default_senders(settings), message_ids=[message_id])

    assert len(sink.to(recipient)) == 1
    assert events_of(engine, message_id) == [("queued", None), ("sending", None), ("delivered", None)]


def test_batch_is_sent_in_the_order_asked(engine, settings, smtp_sink):
    sink, _ = smtp_sink
    recipients = [address("ordered") for _ in range(5)]
    message_ids = [queued_message(engine, settings, recipient) for recipient in recipients]

    deliver_batch(engine, settings=settings, senders=default_senders(settings), message_ids=list(reversed(message_ids)))

    arrived = [mail.recipients[0] for mail in sink.received if mail.recipients[0] in recipients]
    assert arrived == list(reversed(recipients))


def test_two_workers_share_one_requests_batch_without_skipping_any(base_url, api_key, smtp_sink, settings, engine, pipeline):
    sink, _ = smtp_sink
    recipients = [address("shared") for _ in range(40)]
    small_batches = settings.model_copy(update={"worker_batch_size": 5, "worker_prefetch": 5})

    with running(DeliveryWorker(engine, small_batches).run), running(DeliveryWorker(engine, small_batches).run):
        request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")
        # Well before REQUEUE_STUCK_AFTER_SECONDS (15 min): no message may be skipped and left for the scheduler.
        wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 40, timeout=30, message="all 40")

    assert [len(sink.to(recipient)) for recipient in recipients] == [1] * 40


def test_delivery_report_for_a_message_not_recorded_as_sent_asks_the_gateway_to_report_again(base_url, engine, settings):
    import httpx

    message_id = queued_message(engine, settings, address("early-report"))

    response = httpx.post(f"{base_url}/callback/sms/delivery-report", json={"reference": message_id, "status": "delivered"},
                          headers={"Authorization": f"Bearer {settings.sms_delivery_report_token}"})

    assert response.status_code == 409
    with Session(engine) as session:
        assert session.get(Message, message_id).status == "queued"
