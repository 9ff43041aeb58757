"""Registration events become notifications to the applicant, with the contact looked up at the Registration BB."""
import email
import email.policy
import json
from typing import ClassVar

import pytest
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from kernel.db import UnitOfWork
from kernel.events import Envelope, Event
from kernel.outbox import ProcessedMessage
from kernel.testing import wait_until
from messaging.contacts import RegistrationUnavailable
from messaging.enums import Channel
from messaging.handlers import notify_applicant
from messaging.models import SendRequest
from messaging.notify import render
from messaging.settings import MessagingSettings
from .helpers import address, unique


class ApplicationEvent(Event):
    """The Registration BB's application events (registration.events, declared again here: no service imports another)."""

    application_id: str
    service_id: str = "svc-1"
    applicant_sub: str = "citizen-1"
    decision_id: str | None = None
    language: str = "lo"
    notify_applicant: bool = True


class ApplicationSubmitted(ApplicationEvent):
    type: ClassVar[str] = "registration.application.submitted"


class ApplicationSentBack(ApplicationEvent):
    type: ClassVar[str] = "registration.application.sent_back"


class ApplicationApproved(ApplicationEvent):
    type: ClassVar[str] = "registration.application.approved"


class ApplicationRejected(ApplicationEvent):
    type: ClassVar[str] = "registration.application.rejected"


def publish(engine, event: Event) -> str:
    with UnitOfWork(engine, source="registration") as uow:
        envelope = uow.emit(event)
        uow.commit()
    return envelope.id


def consumed(engine, settings, event_id: str):
    return wait_until(lambda: Session(engine).get(ProcessedMessage, (settings.service_name, event_id)), message="event consumed")


def application(stand_in, *, language: str = "en", **contact) -> str:
    application_id = unique("file")
    stand_in.contacts[application_id] = {"language": language, "applicationNumber": application_id,
                                         "serviceName": "Enterprise registration" if language == "en" else "ການຈົດທະບຽນວິສາຫະກິດ", **contact}
    return application_id


def parsed(mail):
    return email.message_from_bytes(mail.content, policy=email.policy.default)


def requests_to_count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(SendRequest)).all())


def test_approval_reaches_the_applicant_by_email_and_sms_in_english(engine, settings, smtp_sink, http_receiver, registration_stand_in, worker):
    sink, _ = smtp_sink
    recipient = address("owner")
    application_id = application(registration_stand_in, email=recipient, phone="+856 20 5555 1234")

    event_id = publish(engine, ApplicationApproved(application_id=application_id, language="en"))

    [mail] = wait_until(lambda: sink.to(recipient), message="approval mail")
    assert parsed(mail)["Subject"] == f"Decision on application {application_id}"
    assert "for Enterprise registration has been approved" in parsed(mail).get_content()
    [sms] = wait_until(lambda: [b for b in http_receiver.at("/sms") if application_id in b["text"]], message="approval sms")
    assert sms["to"] == "+8562055551234" and "has been approved" in sms["text"]
    consumed(engine, settings, event_id)
    assert len(sink.to(recipient)) == 1


def test_submission_is_confirmed_in_lao(engine, smtp_sink, registration_stand_in, worker):
    sink, _ = smtp_sink
    recipient = address("owner")
    application_id = application(registration_stand_in, language="lo", email=recipient)

    publish(engine, ApplicationSubmitted(application_id=application_id))

    [mail] = wait_until(lambda: sink.to(recipient), message="submission mail")
    assert parsed(mail)["Subject"] == f"ໄດ້ຮັບຄຳຮ້ອງ {application_id} ແລ້ວ"


def test_rejection_and_sent_back_use_their_templates(engine, smtp_sink, registration_stand_in, worker):
    sink, _ = smtp_sink
    rejected, sent_back = address("rejected"), address("sentback")
    rejected_id = application(registration_stand_in, email=rejected)
    sent_back_id = application(registration_stand_in, email=sent_back)

    publish(engine, ApplicationRejected(application_id=rejected_id))
    publish(engine, ApplicationSentBack(application_id=sent_back_id))

    [rejection] = wait_until(lambda: sink.to(rejected), message="rejection mail")
    [correction] = wait_until(lambda: sink.to(sent_back), message="sent-back mail")
    assert "has been declined" in parsed(rejection).get_content()
    assert parsed(correction)["Subject"] == f"Application {sent_back_id} needs corrections"


def test_sent_back_template_exists_in_both_languages():
    params = {"application_number": "A-1", "service_name": "X"}

    lao = render(template="application_sent_back", language="lo", channel=Channel.email, params=params)
    english = render(template="application_sent_back", language="en", channel=Channel.sms, params=params)

    assert lao["title"] == "ຄຳຮ້ອງ A-1 ຕ້ອງໄດ້ແກ້ໄຂ"
    assert english["content"].startswith("Your application A-1 for X was sent back")


def test_event_without_notify_applicant_asks_nothing_and_sends_nothing(engine, settings, registration_stand_in, pipeline):
    application_id = application(registration_stand_in, email=address())
    before = requests_to_count(engine)

    event_id = publish(engine, ApplicationApproved(application_id=application_id, notify_applicant=False))

    consumed(engine, settings, event_id)
    assert application_id not in registration_stand_in.lookups
    assert requests_to_count(engine) == before


@pytest.mark.parametrize("contact", [{}, {"phone": "+66 81 234 5678"}], ids=["no contact", "phone outside Laos"])
def test_application_without_a_usable_contact_is_skipped(engine, settings, registration_stand_in, pipeline, contact):
    application_id = application(registration_stand_in, **contact)
    before = requests_to_count(engine)

    event_id = publish(engine, ApplicationApproved(application_id=application_id))

    consumed(engine, settings, event_id)
    assert application_id in registration_stand_in.lookups
    assert requests_to_count(engine) == before


def test_application_unknown_to_registration_is_skipped(engine, settings, registration_stand_in, pipeline):
    before = requests_to_count(engine)

    event_id = publish(engine, ApplicationApproved(application_id=unique("unknown")))

    consumed(engine, settings, event_id)
    assert requests_to_count(engine) == before


def test_unreachable_registration_raises_so_the_event_is_retried(engine, settings, registration_stand_in):
    registration_stand_in.down = True
    envelope = Envelope.new(source="registration", type=ApplicationApproved.type,
                            data=ApplicationApproved(application_id=application(registration_stand_in, email=address())).model_dump())
    try:
        with UnitOfWork(engine, source="test") as uow, pytest.raises(RegistrationUnavailable):
            notify_applicant(envelope, uow, settings)
    finally:
        registration_stand_in.down = False


def test_applicant_is_notified_once_registration_is_back(engine, settings, smtp_sink, registration_stand_in, worker):
    sink, _ = smtp_sink
    recipient = address("retried")
    application_id = application(registration_stand_in, email=recipient)
    registration_stand_in.down = True
    try:
        refused_before = registration_stand_in.refused_while_down
        publish(engine, ApplicationApproved(application_id=application_id))
        wait_until(lambda: registration_stand_in.refused_while_down > refused_before, message="a refused lookup")
    finally:
        registration_stand_in.down = False

    wait_until(lambda: sink.to(recipient), message="mail after the retry")
    assert len(sink.to(recipient)) == 1


def test_production_refuses_the_development_service_key():
    with pytest.raises(ValueError, match="SERVICE_PRIVATE_JWK"):
        MessagingSettings(environment="production", messaging_secret="a-real-secret-" + unique())


def test_production_accepts_its_own_service_key():
    key = json.dumps(RSAKey.generate_key(2048).as_dict(private=True))

    assert MessagingSettings(environment="production", messaging_secret="a-real-secret", service_private_jwk=key).service_private_jwk == key
