"""Application events leave through the outbox and reach a real RabbitMQ consumer, carrying ids only."""
import uuid

from kernel import bus, relay
from kernel.consumer import Consumer
from kernel.testing import running, wait_until
from .api_client import enterprise_data, enterprise_document, unique


def test_submission_send_back_approval_and_rejection_reach_a_consumer(api, app, settings):
    received = []
    queue = f"registration-test-{uuid.uuid4().hex[:8]}"
    connection = bus.connect(settings.amqp_url)
    bus.declare_consumer_queues(connection.channel(), exchange=settings.events_exchange, queue=queue,
                                bindings=["registration.application.*"], retry_delay_ms=settings.consumer_retry_delay_ms)
    connection.close()
    consumer = Consumer(app.state.engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=queue, source="test", retry_delay_ms=settings.consumer_retry_delay_ms,
                        handlers={"registration.application.*": lambda envelope, uow: received.append(envelope)})
    consumer.declare()  # bound before anything is published: the broker drops what no queue takes
    document = enterprise_document()
    service_id = api.publish(document)["id"]
    applicant_sub = unique("citizen")
    applicant = api.token(sub=applicant_sub)
    reviewer = api.token(sub=unique("operator"), roles=document["roles"][0]["operator_roles"])
    registrar = api.token(sub=unique("operator"), roles=document["roles"][1]["operator_roles"])

    approved_file = api.submit(service_id, applicant, enterprise_data()).json()["fileId"]
    send_back_task = api.open_task(reviewer, approved_file)["taskId"]
    api.decide(reviewer, send_back_task, "send_back", "Blurred ID card")
    api.call("PUT", f"/applications/{approved_file}", expect=200, headers={**applicant, "Information-Mediator-Client": "a/b/c/d"},
             json={"formData": {"data": enterprise_data()}})
    api.decide(reviewer, api.open_task(reviewer, approved_file)["taskId"], "approve", "Fine")
    approve_task = api.open_task(registrar, approved_file)["taskId"]
    api.decide(registrar, approve_task, "approve", "Registered")
    rejected_file = api.submit(service_id, applicant, enterprise_data()).json()["fileId"]
    reject_task = api.open_task(reviewer, rejected_file)["taskId"]
    api.decide(reviewer, reject_task, "reject", "Duplicate")

    with running(lambda stop: relay.run(app.state.engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(consumer.run):
        mine = lambda: [e for e in received if e.data["service_id"] == service_id]  # noqa: E731
        wait_until(lambda: len(mine()) == 6, message=f"six application events, got {len(received)}")

    assert [(e.type, e.data["application_id"], e.data["decision_id"]) for e in mine()] == [
        ("registration.application.submitted", approved_file, None),
        ("registration.application.sent_back", approved_file, send_back_task),
        ("registration.application.submitted", approved_file, None),  # the corrected file
        ("registration.application.approved", approved_file, approve_task),
        ("registration.application.submitted", rejected_file, None),
        ("registration.application.rejected", rejected_file, reject_task),
    ]
    assert all(set(e.data) == {"application_id", "service_id", "applicant_sub", "decision_id", "language", "notify_applicant"} for e in mine())
    assert all(e.data["notify_applicant"] is True and e.data["language"] == "lo" for e in mine())
    assert {e.data["applicant_sub"] for e in mine()} == {applicant_sub}
    assert "Somphone" not in str([e.data for e in mine()])  # no personal data travels
