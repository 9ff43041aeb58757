"""HTTP -> outbox -> RabbitMQ -> delivery worker -> a real SMTP server / HTTP SMS gateway, and back through callbacks."""
import base64
import email
import email.policy
import json

import httpx
from sqlmodel import Session, select

from kernel.testing import running, wait_until
from messaging.delivery import DeliveryWorker
from .helpers import address, email_body, send, sms_body, status, unique


def test_single_email_arrives_once_and_status_says_delivered(base_url, api_key, smtp_sink, worker):
    sink, _ = smtp_sink
    recipient, title = address(), unique("title")

    request_uid = send(base_url, api_key, email_body(recipient, title=title, content="ສະບາຍດີ, your card is ready."))

    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 1, message="delivery")
    [mail] = sink.to(recipient)
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert parsed["Subject"] == title
    assert "ສະບາຍດີ, your card is ready." in parsed.get_content()
    assert parsed["Reply-To"] == "reply@moh.gov.la"
    assert status(base_url, api_key, request_uid, "scheduled", "processing", "delivered") == {"scheduled": 0, "processing": 0, "delivered": 1}


def test_batch_mails_each_recipient_exactly_once(base_url, api_key, smtp_sink, worker):
    sink, _ = smtp_sink
    recipients = [address() for _ in range(5)]

    request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")

    wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 5, message="batch delivery")
    assert [len(sink.to(recipient)) for recipient in recipients] == [1] * 5


def test_cc_and_bcc_receive_the_mail_but_bcc_is_not_shown(base_url, api_key, smtp_sink, worker):
    sink, _ = smtp_sink
    to, cc, bcc = address("to"), address("cc"), address("bcc")
    body = email_body(to)
    body["recipientInfo"].update({"emailCC": cc, "emailBCC": bcc})

    send(base_url, api_key, body)

    [mail] = wait_until(lambda: sink.to(to), message="mail with copies")
    assert set(mail.recipients) == {to, cc, bcc}
    assert bcc.encode() not in mail.content


def test_repeated_request_is_mailed_once(base_url, api_key, smtp_sink, worker):
    sink, _ = smtp_sink
    recipient = address()
    body = email_body(recipient)

    first = send(base_url, api_key, body)
    second = send(base_url, api_key, body)

    wait_until(lambda: status(base_url, api_key, first, "delivered")["delivered"] == 1, message="delivery")
    assert first == second
    assert len(sink.to(recipient)) == 1


def test_worker_stopped_mid_batch_and_restarted_mails_everyone_exactly_once(base_url, api_key, smtp_sink, settings, engine, pipeline):
    sink, _ = smtp_sink
    recipients = [address("restart") for _ in range(60)]
    arrived = lambda: sum(len(sink.to(recipient)) for recipient in recipients)  # noqa: E731
    request_uid = send(base_url, api_key, email_body(*recipients), path="/send/email/batch")

    with running(DeliveryWorker(engine, settings).run):
        wait_until(lambda: arrived() >= 5, message="first mails of the batch")
    stopped_at = arrived()
    with running(DeliveryWorker(engine, settings).run):
        wait_until(lambda: status(base_url, api_key, request_uid, "delivered")["delivered"] == 60, timeout=30, message="rest of the batch")

    assert stopped_at < 60  # the first worker really stopped mid-batch
    assert [len(sink.to(recipient)) for recipient in recipients] == [1] * 60


def test_emergency_messages_overtake_a_routine_backlog(base_url, api_key, emergency_api_key, smtp_sink, settings, engine, pipeline):
    sink, _ = smtp_sink
    routine = [address("routine") for _ in range(10)]
    emergency = [address("emergency") for _ in range(3)]
    routine_uid = send(base_url, api_key, email_body(*routine), path="/send/email/batch")
    emergency_uid = send(base_url, emergency_api_key, email_body(*emergency, priority="emergency"), path="/send/email/batch")
    wait_until(lambda: _all_published(engine), message="delivery requests on the queues")

    with running(DeliveryWorker(engine, settings).run):
        wait_until(lambda: status(base_url, api_key, routine_uid, "delivered")["delivered"] == 10, message="routine mails")

    order = [recipient for mail in sink.received for recipient in mail.recipients if recipient in routine + emergency]
    assert set(order[:3]) == set(emergency)
    assert status(base_url, emergency_api_key, emergency_uid, "delivered") == {"delivered": 3}


def _all_published(engine) -> bool:
    from kernel.outbox import OutboxMessage

    with Session(engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).first() is None


def test_sms_reaches_the_http_gateway_in_e164(base_url, api_key, http_receiver, worker):
    text = unique("ສະບາຍດີ")

    request_uid = send(base_url, api_key, sms_body("020 5555 1234", content=text), path="/send/sms/single")

    [sms] = wait_until(lambda: [body for body in http_receiver.at("/sms") if body["text"] == text], message="sms at the gateway")
    assert sms["to"] == "+8562055551234"
    # Accepted by the gateway, not yet reported delivered.
    wait_until(lambda: status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}, message="sms sent")


def _report(base_url, token, reference, status_name):
    return httpx.post(f"{base_url}/callback/sms/delivery-report", json={"reference": reference, "status": status_name},
                      headers={"Authorization": f"Bearer {token}"})


def _sent_sms(base_url, api_key, http_receiver, **extra) -> tuple[str, str]:
    text = unique("sms")
    request_uid = send(base_url, api_key, sms_body("020 5555 1234", content=text, **extra), path="/send/sms/single")
    [sms] = wait_until(lambda: [body for body in http_receiver.at("/sms") if body["text"] == text], message="sms at the gateway")
    wait_until(lambda: status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}, message="sms sent")
    return request_uid, sms["reference"]


def test_gateway_delivery_report_settles_the_sms_and_reaches_the_callback(base_url, api_key, settings, http_receiver, worker):
    callback = f"{http_receiver.url}/client/sms"
    request_uid, reference = _sent_sms(base_url, api_key, http_receiver, callback={"URI": callback})

    answers = [_report(base_url, settings.sms_delivery_report_token, reference, "delivered") for _ in range(2)]

    assert [answer.status_code for answer in answers] == [204, 204]
    assert status(base_url, api_key, request_uid, "delivered", path="/status/sms") == {"delivered": 1}
    reports = wait_until(lambda: [body for body in http_receiver.at("/client/sms") if body.get("requestUID") == request_uid], message="callback")
    # The repeated report changed nothing: every callback (at least once, so perhaps twice) says delivered.
    assert {report["status"] for report in reports} == {"delivered"}


def test_gateway_failure_report_counts_as_bounced(base_url, api_key, settings, http_receiver, worker):
    request_uid, reference = _sent_sms(base_url, api_key, http_receiver)

    assert _report(base_url, settings.sms_delivery_report_token, reference, "undelivered").status_code == 204

    assert status(base_url, api_key, request_uid, "bounced", path="/status/sms") == {"bounced": 1}


def test_delivery_report_needs_the_gateway_token(base_url, api_key, http_receiver, worker):
    request_uid, reference = _sent_sms(base_url, api_key, http_receiver)

    answers = [_report(base_url, "wrong", reference, "delivered"),
               httpx.post(f"{base_url}/callback/sms/delivery-report", json={"reference": reference, "status": "delivered"})]

    assert [answer.status_code for answer in answers] == [401, 401]
    assert status(base_url, api_key, request_uid, "processing", path="/status/sms") == {"processing": 1}


def test_delivery_is_reported_to_the_callback_uri(base_url, api_key, http_receiver, worker):
    request_uid = send(base_url, api_key, email_body(address(), callback_uri=f"{http_receiver.url}/client/callback"))

    reports = wait_until(lambda: [body for body in http_receiver.at("/client/callback") if body.get("requestUID") == request_uid and "status" in body],
                         message="delivery callback")
    assert {report["status"] for report in reports} == {"delivered"}  # at least once: the same callback may come twice
    assert all(set(report) == {"requestUID", "messageId", "status"} for report in reports)  # no address, no content


def test_reply_is_forwarded_to_the_callback_uri(base_url, api_key, http_receiver, pipeline):
    request_uid = send(base_url, api_key, email_body(address(), callback_uri=f"{http_receiver.url}/client/replies"))
    content = base64.b64encode(json.dumps({"confirm": True}).encode()).decode()

    response = httpx.post(f"{base_url}/callback/email", json={"meta": "confirmation", "content": content},
                          headers={"api_key": api_key, "requestUID": request_uid})

    assert response.status_code == 200
    [reply] = wait_until(lambda: [body for body in http_receiver.at("/client/replies") if body.get("replyId")], message="forwarded reply")
    assert (reply["requestUID"], reply["meta"], reply["content"]) == (request_uid, "confirmation", content)


def test_unreadable_delivery_request_ends_in_the_dead_letter_queue(settings, worker):
    import pika

    from kernel import bus
    from messaging.delivery import ROUTINE_QUEUE

    message_id = unique("garbage")
    connection = bus.connect(settings.amqp_url)
    channel = connection.channel()
    channel.basic_publish(exchange=settings.events_exchange, routing_key="messaging.message.accepted.routine", body=b"not json",
                          properties=pika.BasicProperties(message_id=message_id, delivery_mode=2))

    def dead_lettered():
        method, properties, _ = channel.basic_get(bus.dead_letter_queue(ROUTINE_QUEUE))
        if method is None:
            return None
        channel.basic_ack(method.delivery_tag)
        return properties if properties.message_id == message_id else None

    try:
        properties = wait_until(dead_lettered, timeout=20, message="dead-lettered request")
    finally:
        connection.close()
    assert properties.headers["x-attempts"] == settings.consumer_max_retries + 1
