"""One trace id spans gateway -> service -> RabbitMQ -> consumer (W3C trace context over HTTP and AMQP)."""
import secrets
import uuid

import urllib.request
import pytest
from fastapi import FastAPI
from sqlmodel import Field

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from kernel.consumer import Consumer
from kernel.db import UowDep, make_engine
from kernel.events import Event
from kernel.outbox import service_base
from kernel.relay import run as run_relay
from kernel.settings import ServiceSettings
from kernel.telemetry import instrument_fastapi
from kernel.testing import running, serve, wait_until

Base = service_base()


class Parcel(Base, table=True):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True)


class Handled(Base, table=True):
    message_id: str = Field(primary_key=True)


class ParcelSent(Event):
    type = "tracetest.parcel.sent"
    parcel_id: str


@pytest.fixture(scope="module")
def service(infrastructure):
    settings = ServiceSettings(service_name="tracetest", database_url=infrastructure.new_database("tracetest"),
                               amqp_url=infrastructure.new_vhost("tracetest"))
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    app = FastAPI()
    app.state.engine, app.state.settings = engine, settings

    @app.post("/parcels", status_code=201)
    def send_parcel(uow: UowDep) -> dict:
        parcel = Parcel()
        uow.session.add(parcel)
        uow.emit(ParcelSent(parcel_id=parcel.id))
        uow.commit()
        return {"id": parcel.id}

    instrument_fastapi(app)
    with serve(app) as url:
        yield settings, engine, url


@pytest.fixture(scope="module")
def gateway_url(infrastructure, service, oidc_issuer):
    settings = GatewaySettings(database_url=infrastructure.new_database("gateway_trace"),
                               amqp_url=infrastructure.new_vhost("gateway_trace"), consent_url=service[2],
                               oidc_issuers=[oidc_issuer.url])
    with serve(create_gateway(settings)) as url:
        yield url


def record(envelope, uow):
    uow.session.add(Handled(message_id=envelope.id))


def test_one_trace_spans_gateway_service_broker_and_consumer(service, gateway_url, spans, oidc_issuer):
    settings, engine, _ = service
    trace_id = secrets.token_hex(16)
    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="tracetest",
                        source="tracetest", handlers={ParcelSent.type: record})
    consumer.declare()  # bound before anything is published: the broker drops what no queue takes

    with running(lambda stop: run_relay(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(consumer.run):
        # urllib, not the (instrumented) httpx: the trace must be the one the caller started.
        request = urllib.request.Request(f"{gateway_url}/r1/LA/GOV/LA-DGC/consent-bb/consent/parcels", method="POST",
                                         headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
                                                  # the caller proves it is the registration BB's application
                                                  "Information-Mediator-Client": "LA/GOV/LA-DGC/registration-bb",
                                                  "Authorization": "Bearer " + oidc_issuer.token(audience="gateway", client_id="registration-bb")})
        with urllib.request.urlopen(request) as response:
            assert response.status == 201
        wait_until(lambda: any(s.name.startswith("consume ") for s in spans.get_finished_spans()), message="the consumer span")

    finished = spans.get_finished_spans()
    by_kind = {
        "gateway": [s for s in finished if s.name.startswith(("POST /r1/",)) and s.kind.name == "SERVER"],
        "service": [s for s in finished if s.name == "POST /parcels" and s.kind.name == "SERVER"],
        "publish": [s for s in finished if s.name == f"publish {ParcelSent.type}"],
        "consume": [s for s in finished if s.name == f"consume {ParcelSent.type}"],
    }
    for hop, hop_spans in by_kind.items():
        assert hop_spans, f"no {hop} span"
        assert {format(s.context.trace_id, "032x") for s in hop_spans} == {trace_id}, hop
