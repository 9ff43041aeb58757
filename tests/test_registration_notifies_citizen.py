"""A registration decision reaches the citizen: registration -> RabbitMQ -> messaging -> (service token from identity,
contact from registration through the gateway) -> SMTP. Every piece runs for real, with the demo fixtures."""
import logging
import uuid

import httpx
import pytest
from sqlmodel import Session, select

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from identity.app import create_app as create_identity
from identity.settings import IdentitySettings
from kernel import relay
from kernel.consumer import Consumer
from kernel.db import UnitOfWork, make_engine
from kernel.outbox import OutboxMessage, ProcessedMessage
from kernel.testing import free_port, running, serve, smtp_mailbox, wait_until
from messaging.app import create_app as create_messaging
from messaging.delivery import DeliveryWorker, ensure_topology
from messaging.handlers import handlers_for
from messaging.settings import MessagingSettings
from registration import designer
from registration.app import create_app as create_registration
from registration.settings import RegistrationSettings

IM = {"Information-Mediator-Client": "LA/GOV/LA-DGC/govstack-portal"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def mailbox():
    with smtp_mailbox() as box_and_port:
        yield box_and_port


@pytest.fixture(scope="module")
def suite(infrastructure, oidc_issuer, mailbox, tmp_path_factory):
    """Identity, registration, gateway and messaging (API, relays, consumer, delivery worker) on one broker vhost."""
    amqp_url = infrastructure.new_vhost("notify_citizen")
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    identity = IdentitySettings(database_url=infrastructure.new_database("notify_identity"), amqp_url=amqp_url, port=identity_port,
                                public_url=identity_url, oidc_issuers=[oidc_issuer.url], environment="test", fixtures="demo")
    # Citizens and operators hold test-issuer tokens; the Messaging BB's service token comes from the Identity BB.
    registration = RegistrationSettings(database_url=infrastructure.new_database("notify_registration"), amqp_url=amqp_url,
                                        oidc_issuers=[oidc_issuer.url, identity_url], environment="test", fixtures="demo",
                                        data_dir=tmp_path_factory.mktemp("notify-registration"))
    with serve(create_identity(identity), port=identity_port), serve(create_registration(registration)) as registration_url:
        # The gateway forwards the caller's token, so it accepts tokens meant for the building blocks behind it.
        gateway = GatewaySettings(database_url=infrastructure.new_database("notify_gateway"), amqp_url=amqp_url,
                                  oidc_issuers=[identity_url], oidc_audience=["gateway", "registration"],
                                  registration_url=registration_url, environment="test")
        with serve(create_gateway(gateway)) as gateway_url:
            messaging = MessagingSettings(database_url=infrastructure.new_database("notify_messaging"), amqp_url=amqp_url,
                                          oidc_issuers=[oidc_issuer.url], environment="test", smtp_host="127.0.0.1",
                                          smtp_port=mailbox[1], identity_url=identity_url,
                                          gateway_url=gateway_url, consumer_retry_delay_ms=200, scheduler_poll_seconds=0.1)
            # messaging keeps its development service key: identity's demo fixture registered its public half.
            with serve(create_messaging(messaging)):
                registration_engine, messaging_engine = make_engine(registration), make_engine(messaging)
                ensure_topology(messaging)
                consumer = Consumer(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange, queue=messaging.service_name,
                                    source=messaging.service_name, handlers=handlers_for(messaging), retry_delay_ms=200)
                consumer.declare()  # bound before anything is published: the broker drops what no queue takes
                with running(lambda stop: relay.run(registration_engine, amqp_url=amqp_url, exchange=registration.events_exchange,
                                                    poll_seconds=0.02, stop=stop)), \
                        running(lambda stop: relay.run(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange,
                                                       poll_seconds=0.02, stop=stop)), \
                        running(consumer.run), running(DeliveryWorker(messaging_engine, messaging).run):
                    yield registration_url, registration_engine, messaging_engine, messaging
                registration_engine.dispose()
                messaging_engine.dispose()


def enterprise_service_id(engine) -> str:
    """The demo enterprise service, republished without its require_consent step: that step asks a Consent BB this suite
    does not run (services/registration/tests/test_consent_step.py covers it). Importing it again changes nothing."""
    with UnitOfWork(engine, source="test") as uow:
        service = designer.by_code(uow, code="LER")
        document = designer.published_document(uow, service=service)
        steps = [step for step in document["steps"] if step["type"] != "require_consent"]
        designer.import_document(uow, document={**document, "steps": steps}, actor="test", publish_it=True)
        uow.commit()
        return service.id


OWNER_NAME, OWNER_ID_NUMBER = "Somphone Keomany", "LA-123456"


def approve_enterprise_application(suite, mailbox, oidc_issuer, recipient: str) -> str:
    """An applicant submits the demo enterprise registration in Lao; reviewer and registrar approve; the approval
    email arrives. Returns the file id."""
    registration_url, registration_engine, messaging_engine, messaging = suite
    box, _ = mailbox
    applicant = {"Authorization": "Bearer " + oidc_issuer.token(sub=f"citizen-{uuid.uuid4().hex[:8]}", audience="registration")}
    reviewer = {"Authorization": "Bearer " + oidc_issuer.token(sub="reviewer-1", audience="registration", roles=["enterprise_reviewer"])}
    registrar = {"Authorization": "Bearer " + oidc_issuer.token(sub="registrar-1", audience="registration", roles=["enterprise_registrar"])}
    service_id = enterprise_service_id(registration_engine)
    http = httpx.Client(base_url=registration_url, timeout=30)

    id_card = http.post("/documents", headers=applicant, params={"serviceId": service_id, "documentType": "owner_id_card"},
                        files={"file": ("id.pdf", PDF, "application/pdf")})
    assert id_card.status_code == 200, id_card.text
    data = {"company_name_lo": "ບໍລິສັດ ນ້ຳໃສ ຈຳກັດ", "company_name_en": "Nam Sai Co., Ltd", "activity": "retail", "province": "VTE",
            "district": "Sisattanak", "registered_capital_lak": 50000000, "owner_name": OWNER_NAME,
            "owner_id_number": OWNER_ID_NUMBER, "owner_email": recipient}
    submitted = http.post(f"/services/{service_id}/applications", headers={**applicant, **IM},
                          json={"applicationName": "Nam Sai", "language": "lo", "documentUrls": [id_card.json()["url"]],
                                "formData": {"eFormId": "ler-application", "data": data}})
    assert submitted.status_code == 200, submitted.text
    file_id = submitted.json()["fileId"]
    for operator in (reviewer, registrar):
        [task] = [t for t in http.get("/tasks", headers={**operator, **IM}, params={"fileId": file_id}).json() if t["status"]["code"] == "PENDING"]
        decided = http.post(f"/tasks/{task['taskId']}/complete", headers=operator, json={"data": {"decision": "approve", "reason": "in order"}})
        assert decided.status_code == 200, decided.text
    wait_until(lambda: [m for m in box.to(recipient) if m["Subject"].startswith("ຜົນການພິຈາລະນາຄຳຮ້ອງ")], timeout=30,
               message="the approval email")
    return file_id


def test_approval_email_reaches_the_applicant_once_in_lao(suite, mailbox, oidc_issuer):
    registration_url, registration_engine, messaging_engine, messaging = suite
    box, _ = mailbox
    recipient = f"owner-{uuid.uuid4().hex[:8]}@example.la"

    file_id = approve_enterprise_application(suite, mailbox, oidc_issuer, recipient)

    [approval] = [m for m in box.to(recipient) if m["Subject"].startswith("ຜົນການພິຈາລະນາຄຳຮ້ອງ")]
    assert "ໄດ້ຮັບການອະນຸມັດ" in approval.get_content() and "ການຈົດທະບຽນວິສາຫະກິດ" in approval.get_content()
    # Exactly once: every registration event was consumed and each produced a single mail (submission, then approval).
    with Session(registration_engine) as session:
        event_ids = [row.id for row in session.exec(select(OutboxMessage).where(OutboxMessage.subject == file_id))]
    assert len(event_ids) == 2
    wait_until(lambda: all(Session(messaging_engine).get(ProcessedMessage, (messaging.service_name, e)) for e in event_ids),
               message="both events consumed")
    subjects = sorted(m["Subject"] for m in box.to(recipient))
    assert subjects == sorted([f"ຜົນການພິຈາລະນາຄຳຮ້ອງ {file_id}", f"ໄດ້ຮັບຄຳຮ້ອງ {file_id} ແລ້ວ"])


def test_the_journey_leaves_no_personal_data_in_logs_or_traces(suite, mailbox, oidc_issuer, spans, caplog):
    caplog.set_level(logging.DEBUG)
    recipient = f"owner-{uuid.uuid4().hex[:8]}@example.la"

    approve_enterprise_application(suite, mailbox, oidc_issuer, recipient)

    personal = [OWNER_NAME, OWNER_ID_NUMBER, recipient]
    # The test's own instruments (its HTTP client, its SMTP sink) log what they carry; everything else is the services.
    service_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "mail.log"))]
    assert service_records
    leaked_logs = [f"{r.name}: {r.getMessage()[:80]}" for r in service_records
                   if any(p in r.getMessage() or p in str(getattr(r, "fields", "")) or p in str(r.exc_info) for p in personal)]
    finished = spans.get_finished_spans()
    assert finished
    leaked_spans = [s.name for s in finished
                    if any(p in s.name or p in str(dict(s.attributes or {})) or p in str([e.attributes for e in s.events])
                           for p in personal)]
    assert not leaked_logs, leaked_logs
    assert not leaked_spans, leaked_spans
