"""Templated notifications for other BBs, and the Identity BB's OTP command arriving over RabbitMQ."""
import email
import email.policy
from typing import ClassVar

from sqlmodel import Session, select

from kernel.db import UnitOfWork
from kernel.events import Event
from kernel.outbox import ProcessedMessage
from kernel.testing import wait_until
from messaging.enums import Channel
from messaging.notify import notify, render
from .helpers import address, unique


class OtpRequested(Event):
    """What the Identity BB emits (identity.events.SendOtp, declared again here: no service imports another)."""

    type: ClassVar[str] = "identity.otp.requested"
    transaction_id: str
    channel: str
    recipient: str
    otp: str
    language: str
    expires_seconds: int


def publish(engine, event: Event) -> str:
    with UnitOfWork(engine, source="identity") as uow:
        envelope = uow.emit(event)
        uow.commit()
    return envelope.id


def test_email_templates_give_a_subject_and_a_body_in_each_language():
    lao = render(template="application_submitted", language="lo", channel=Channel.email,
                 params={"application_number": "A-1", "service_name": "ບັດປະຈຳຕົວ"})
    english = render(template="application_submitted", language="en", channel=Channel.email,
                     params={"application_number": "A-1", "service_name": "ID card"})

    assert lao["title"] == "ໄດ້ຮັບຄຳຮ້ອງ A-1 ແລ້ວ" and "ບັດປະຈຳຕົວ" in lao["content"]
    assert english == {"title": "Application A-1 received",
                       "content": "We have received your application A-1 for ID card. We will tell you when it has been reviewed."}


def test_unknown_language_falls_back_to_lao():
    assert render(template="otp", language="fr", channel=Channel.sms, params={"code": "1", "minutes": 5}) == \
        render(template="otp", language="lo", channel=Channel.sms, params={"code": "1", "minutes": 5})


def test_notify_queues_a_rendered_email_that_arrives(engine, settings, smtp_sink, worker):
    sink, _ = smtp_sink
    recipient = address()

    with UnitOfWork(engine, source="test") as uow:
        notify(uow, settings=settings, channel=Channel.email, recipient=recipient, language="en", template="application_decided",
               params={"application_number": "B-7", "service_name": "Business licence", "approved": True})
        uow.commit()

    [mail] = wait_until(lambda: sink.to(recipient), message="notification mail")
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert parsed["Subject"] == "Decision on application B-7"
    assert "has been approved" in parsed.get_content()


def test_otp_command_sends_the_code_by_sms_in_lao(engine, http_receiver, worker):
    code = unique("")[-6:]

    publish(engine, OtpRequested(transaction_id=unique("tx"), channel="sms", recipient="+8562055557777", otp=code, language="lo", expires_seconds=300))

    [sms] = wait_until(lambda: [body for body in http_receiver.at("/sms") if code in body["text"]], message="otp sms")
    assert sms["to"] == "+8562055557777"
    assert sms["text"].startswith("ລະຫັດຢືນຢັນຂອງທ່ານແມ່ນ")


def test_otp_command_sends_the_code_by_email_in_english(engine, smtp_sink, worker):
    sink, _ = smtp_sink
    recipient, code = address(), unique("")[-6:]

    publish(engine, OtpRequested(transaction_id=unique("tx"), channel="email", recipient=recipient, otp=code, language="en", expires_seconds=120))

    [mail] = wait_until(lambda: sink.to(recipient), message="otp mail")
    assert f"Your one-time code is {code}. It expires in 2 minutes." in email.message_from_bytes(mail.content, policy=email.policy.default).get_content()


def test_otp_command_with_an_invalid_recipient_is_dropped_not_retried(engine, settings, pipeline):
    from messaging.models import SendRequest

    with Session(engine) as session:
        before = len(session.exec(select(SendRequest)).all())

    event_id = publish(engine, OtpRequested(transaction_id=unique("tx"), channel="sms", recipient="+66812345678", otp="123456", language="lo", expires_seconds=300))

    wait_until(lambda: Session(engine).get(ProcessedMessage, (settings.service_name, event_id)), message="command consumed")
    with Session(engine) as session:
        assert len(session.exec(select(SendRequest)).all()) == before
