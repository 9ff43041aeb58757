"""Consent-gated exchange: personal data passes only with a valid consent record, and stops after withdrawal."""
import http.client
import uuid
from urllib.parse import urlsplit

import httpx
import pika
import pytest

from gateway.handlers import HANDLERS
from kernel import bus
from kernel.consumer import Consumer
from kernel.events import Envelope
from kernel.testing import running, wait_until


@pytest.fixture(scope="module")
def gated(exchange, base_url, admin_headers):
    """Service `history` of the provider, personal data of a data agreement under v1/history."""
    agreement = f"da-{uuid.uuid4().hex[:8]}"
    config = {"members": [{"class": "GOV", "code": exchange.provider[2], "applications": [{"id": "patients", "services": [
        {"id": "history", "serviceUrl": exchange_provider_url(base_url, admin_headers, exchange),
         "rights": [{"member": f"GOV/{exchange.client[2]}", "application": "payments"}]}]}]}]}
    assert httpx.patch(f"{base_url}/api/v1/config", json=config, headers=admin_headers).status_code == 201
    marked = httpx.patch(f"{base_url}/api/v1/services/{'/'.join(exchange.provider)}/history",
                         json={"dataAgreementId": agreement, "consentPathPrefix": "v1/history"}, headers=admin_headers)
    assert marked.status_code == 200
    return agreement


def exchange_provider_url(base_url, admin_headers, exchange) -> str:
    config = httpx.get(f"{base_url}/api/v1/config", headers=admin_headers).json()
    return next(s["serviceUrl"] for m in config["members"] if m["code"] == exchange.provider[2]
                for a in m["applications"] for s in a["services"] if s["id"] == "records")


def publish_withdrawal(settings, *, individual_id: str, agreement_id: str) -> None:
    envelope = Envelope.new(source="consent", type="consent.record.withdrawn",
                            data={"record_id": str(uuid.uuid4()), "individual_id": individual_id, "data_agreement_id": agreement_id})
    connection = bus.connect(settings.amqp_url)
    try:
        channel = connection.channel()
        # The gateway consumer's queue, declared as the consumer declares it, so the event cannot miss it.
        bus.declare_consumer_queues(channel, exchange=settings.events_exchange, queue="gateway", bindings=list(HANDLERS),
                                    retry_delay_ms=settings.consumer_retry_delay_ms)
        channel.confirm_delivery()
        channel.basic_publish(settings.events_exchange, envelope.type, envelope.to_bytes(),
                              pika.BasicProperties(message_id=envelope.id, delivery_mode=2, headers={}))
    finally:
        connection.close()


def test_gated_call_passes_with_consent_and_stops_after_withdrawal(exchange, gated, consent, settings, engine):
    individual = f"person-{uuid.uuid4().hex[:8]}"
    consent.valid.add((individual, gated))
    url = exchange.url("history", "v1/history/records")
    headers = exchange.headers(**{"X-Individual-Id": individual})
    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="gateway",
                        source="gateway", handlers=HANDLERS, retry_delay_ms=settings.consumer_retry_delay_ms)
    consumer.declare()  # bound before anything is published: the broker drops what no queue takes

    with_consent = httpx.get(url, headers=headers)
    consent.valid.discard((individual, gated))  # the Consent BB records the withdrawal...
    still_cached = httpx.get(url, headers=headers)
    with running(consumer.run):
        publish_withdrawal(settings, individual_id=individual, agreement_id=gated)  # ...and announces it
        refused = wait_until(lambda: (r := httpx.get(url, headers=headers)).status_code == 403 and r,
                             message="the gated call refused after the withdrawal event")

    assert with_consent.status_code == 200
    assert still_cached.status_code == 200  # answers are cached until a withdrawal event says otherwise
    assert refused.headers["X-Road-Error"] == "Server.ServerProxy.ConsentRequired"


def test_gated_call_without_an_individual_or_consent_is_refused(exchange, gated):
    url = exchange.url("history", "v1/history/records")

    unnamed = httpx.get(url, headers=exchange.headers())
    no_consent = httpx.get(url, headers=exchange.headers(**{"X-Individual-Id": f"person-{uuid.uuid4().hex[:8]}"}))

    assert unnamed.status_code == 403 and unnamed.headers["X-Road-Error"] == "Server.ServerProxy.ConsentRequired"
    assert no_consent.status_code == 403


def test_paths_outside_the_gated_prefix_need_no_consent(exchange, gated):
    response = httpx.get(exchange.url("history", "v1/public/leaflets"), headers=exchange.headers())

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["v1//history/records", "V1/History/records", "v1/history;v=1/records", "/v1/history"])
def test_variant_spellings_of_the_gated_path_need_consent_too(exchange, gated, path):
    """Providers may collapse //, ignore case or drop ;parameters: each spelling of the gated path stays gated."""
    response = httpx.get(exchange.url("history", path), headers=exchange.headers())

    assert response.status_code == 403 and response.headers["X-Road-Error"] == "Server.ServerProxy.ConsentRequired"


@pytest.mark.parametrize("path", ["v1/x/../history/records", "v1/%2e%2e/v1/history/records", "../other", "v1/./history/records"])
def test_dot_segments_are_refused_not_forwarded(exchange, gated, path, logged):
    """A provider (or a proxy before it) resolving them would serve a gated path, or one outside the service's base
    URL, without the checks."""
    message_id = str(uuid.uuid4())
    url = urlsplit(exchange.url("history", path))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)  # httpx would resolve them
    try:
        connection.request("GET", url.path, headers=exchange.headers(**{"X-Road-Id": message_id}))
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 400 and response.headers["X-Road-Error"] == "Client.BadRequest"
    row = wait_until(lambda: logged(message_id), message="the refusal in the message log")
    assert (row.outcome, row.status) == ("refused", 400)
