import json
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from joserfc import jwt
from joserfc.jwk import RSAKey

from kernel import relay
from kernel.consumer import Consumer
from kernel.db import UnitOfWork, make_engine
from kernel.testing import free_port, running, serve
from messaging import apikeys
from messaging.app import create_app
from messaging.delivery import DeliveryWorker, ensure_topology
from messaging.handlers import handlers_for
from messaging.models import ApiKey
from messaging.settings import MessagingSettings



@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    content: bytes


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what arrives; `reject_with` makes it refuse every message."""

    received: list[Received] = field(default_factory=list)
    reject_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Addresses choose the server's answer: "bounce-..." is refused for good, "later-..." temporarily.
        if address.startswith("bounce-"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("later-"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_with:
            return self.reject_with
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [mail for mail in self.received if address in mail.recipients]

    def with_text(self, text: str) -> list[Received]:
        with self.lock:
            return [mail for mail in self.received if text.encode() in mail.content]


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer, smtp_sink, http_receiver, registration_stand_in) -> MessagingSettings:
    return MessagingSettings(
        database_url=infrastructure.new_database("messaging"),
        amqp_url=infrastructure.new_vhost("messaging"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink[1],
        sms_gateway_url=f"{http_receiver.url}/sms",
        sms_delivery_report_token="gateway-secret-" + free_port().__str__(),
        messaging_secret="test-secret-" + free_port().__str__(),
        retry_base_seconds=0.2,
        retry_max_interval_seconds=0.5,
        scheduler_poll_seconds=0.1,
        consumer_retry_delay_ms=200,
        identity_url=registration_stand_in.url,
        gateway_url=registration_stand_in.url,
        service_private_jwk=json.dumps(SERVICE_KEY.as_dict(private=True)),
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def engine(settings, base_url):
    """The test's own engine on the service's database (migrated by the server's start)."""
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pipeline(settings, engine):
    """The relay and the kernel consumer (callbacks) run for the whole session; the delivery queues exist first."""
    ensure_topology(settings)
    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=settings.service_name,
                        source=settings.service_name, handlers=handlers_for(settings), retry_delay_ms=200)
    consumer.declare()  # before the relay runs: an event published before its queue is bound would be dropped
    with running(lambda stop: relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, poll_seconds=0.02, stop=stop)), \
         running(consumer.run):
        yield


@pytest.fixture
def worker(settings, engine, pipeline):
    """A delivery worker for one test; tests that need it stopped start their own with running(...)."""
    with running(DeliveryWorker(engine, settings).run) as thread:
        yield thread


def make_api_key(engine, *, name: str = "test app", emergency_allowed: bool = False) -> str:
    key = apikeys.generate()
    with UnitOfWork(engine, source="test") as uow:
        uow.session.add(ApiKey(name=name, key_hash=apikeys.hash_key(key), emergency_allowed=emergency_allowed))
        uow.commit()
    return key


@pytest.fixture(scope="session")
def api_key(engine) -> str:
    return make_api_key(engine)


@pytest.fixture(scope="session")
def emergency_api_key(engine) -> str:
    return make_api_key(engine, name="emergency app", emergency_allowed=True)


class HttpReceiver:
    """A real HTTP server that keeps every JSON body POSTed to it: the SMS gateway and the client's callback URI."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.url = ""

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def receive(request):
            body = await request.json()
            with self.lock:
                self.received.append((request.url.path, body))
                count = len(self.received)
            return JSONResponse({"id": f"gw-{count}"})

        return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])

    def at(self, path: str) -> list[dict]:
        with self.lock:
            return [body for received_path, body in self.received if received_path == path]


@pytest.fixture(scope="session")
def http_receiver():
    receiver = HttpReceiver()
    with serve(receiver.app()) as url:
        receiver.url = url
        yield receiver


SERVICE_KEY = RSAKey.generate_key(2048, parameters={"kid": "messaging-test", "alg": "RS256"})
CONTACT_PATH = "/r1/LA/GOV/LA-DGC/registration-bb/registration/applications/{application_id}/notification-contact"


class RegistrationStandIn:
    """The Identity BB's token endpoint and the Registration BB's contact lookup behind the gateway path, for handler tests
    (the real services meet in tests/test_registration_notifies_citizen.py). `down` makes the lookup answer 503."""

    def __init__(self):
        self.contacts: dict[str, dict] = {}
        self.lookups: list[str] = []
        self.refused_while_down = 0
        self.issued = 0
        self.down = False
        self.url = ""

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def token(request):
            form = await request.form()
            claims = jwt.decode(form["client_assertion"], SERVICE_KEY).claims
            if claims["iss"] != "messaging-bb" or form.get("audience") != "registration" or form.get("scope") != "notification.read":
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            self.issued += 1
            return JSONResponse({"access_token": f"tok-{self.issued}", "token_type": "Bearer", "expires_in": 300})

        async def contact(request):
            if self.down:
                self.refused_while_down += 1
                return JSONResponse({"type": "Server.ServerProxy.ServiceUnavailable"}, status_code=503)
            if request.headers.get("authorization") != f"Bearer tok-{self.issued}" \
                    or request.headers.get("information-mediator-client") != "LA/GOV/LA-DGC/messaging-bb":
                return JSONResponse({"code": "forbidden"}, status_code=403)
            application_id = request.path_params["application_id"]
            self.lookups.append(application_id)
            if application_id not in self.contacts:
                return JSONResponse({"code": "file_not_found", "message": "No application file has this id."}, status_code=404)
            return JSONResponse(self.contacts[application_id])

        return Starlette(routes=[Route("/oauth/token", token, methods=["POST"]),
                                 Route(CONTACT_PATH, contact)])


@pytest.fixture(scope="session")
def registration_stand_in():
    stand_in = RegistrationStandIn()
    with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in
