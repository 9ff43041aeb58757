"""Email through real aiosmtpd servers that demand STARTTLS and AUTH, or offer SMTPUTF8 or not: what arrives, and what
happens to the message when the relay settings are wrong (retried, then not sent; never delivered, never in clear)."""
import datetime
import email
import email.policy
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import Session, select

from kernel import relay
from kernel.db import make_engine
from kernel.testing import free_port, running, serve, wait_until
from messaging.app import create_app
from messaging.channels import DeliveryError, Outgoing, SmtpMailer
from messaging.delivery import DeliveryWorker, ensure_topology
from messaging.models import Message, MessageStatusEvent, SendRequest
from messaging.settings import MessagingSettings
from .conftest import make_api_key
from .helpers import address, email_body, send, status, unique

USER, PASSWORD = "messaging-bb", "relay-password-" + unique()


@dataclass
class Arrival:
    mail_from: str
    recipients: list[str]
    content: bytes
    over_tls: bool
    authenticated: bool


@dataclass
class Relay:
    """A real SMTP server that records what arrived and every MAIL command it saw (so "nothing in clear" is checked)."""

    arrivals: list[Arrival] = field(default_factory=list)
    mail_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_commands += 1
        envelope.mail_from, envelope.mail_options = address, mail_options
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.arrivals.append(Arrival(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                         session.ssl is not None, bool(session.authenticated)))
        return "250 OK"

    def to(self, recipient: str) -> list[Arrival]:
        with self.lock:
            return [arrival for arrival in self.arrivals if recipient in arrival.recipients]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A throw-away self-signed certificate for 127.0.0.1; its PEM is the CA file the client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test smtp relay")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "relay.pem", folder / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def _start(relay_handler: Relay, **options) -> Controller:
    controller = Controller(relay_handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    relay_handler.port = controller.port
    return controller


@pytest.fixture(scope="module")
def secure_relay(certificate):
    """STARTTLS required before anything else, and AUTH (only over TLS) required before MAIL."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    handler = Relay()
    controller = _start(handler, tls_context=tls, require_starttls=True, auth_required=True, auth_require_tls=True,
                        authenticator=_authenticator)
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def plain_relay():
    """No STARTTLS, no SMTPUTF8: what a careless or old relay offers."""
    handler = Relay()
    controller = _start(handler, enable_SMTPUTF8=False)
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def utf8_relay():
    handler = Relay()
    controller = _start(handler, enable_SMTPUTF8=True)
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def stack(settings, infrastructure):
    """Own database and vhost, a two-second retry window; the API and relay run for the module, each test starts the
    delivery worker with the SMTP settings it tries."""
    short = settings.model_copy(update={
        "database_url": infrastructure.new_database("messaging_smtp"), "amqp_url": infrastructure.new_vhost("messaging_smtp"),
        "retry_base_seconds": 0.2, "retry_max_interval_seconds": 0.4, "retry_window_seconds": 2.0,
    })
    with serve(create_app(short)) as url:
        engine = make_engine(short)
        ensure_topology(short)
        with running(lambda stop: relay.run(engine, amqp_url=short.amqp_url, exchange=short.events_exchange, poll_seconds=0.02, stop=stop)):
            yield url, engine, make_api_key(engine), short
        engine.dispose()


def _secure(settings, secure_relay, certificate, **overrides):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": secure_relay.port, "smtp_starttls": True,
                                       "smtp_ca_file": str(certificate[0]), "smtp_username": USER, "smtp_password": PASSWORD, **overrides})


def _message(engine, request_uid: str) -> tuple[Message, list[str]]:
    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
        message = session.exec(select(Message).where(Message.request_id == request.id)).one()
        history = session.exec(select(MessageStatusEvent.status).where(MessageStatusEvent.message_id == message.id)).all()
        return message, list(history)


def _outgoing(recipient: str) -> Outgoing:
    return Outgoing(message_id=unique("m"), recipient={"email": recipient, "name": "Citizen"}, sender=None,
                    content={"title": "Code", "content": "Your code is 123456"})


def test_mail_goes_over_starttls_with_auth_and_arrives(stack, secure_relay, certificate):
    url, engine, key, settings = stack
    recipient = address()

    with running(DeliveryWorker(engine, _secure(settings, secure_relay, certificate)).run):
        request_uid = send(url, key, email_body(recipient, content="Your permit is ready."))
        [arrival] = wait_until(lambda: secure_relay.to(recipient), message="mail over TLS")
        wait_until(lambda: status(url, key, request_uid, "delivered")["delivered"] == 1, message="delivered")

    assert (arrival.over_tls, arrival.authenticated) == (True, True)
    assert b"Your permit is ready." in arrival.content


def test_wrong_password_is_retried_then_not_sent_never_delivered(stack, secure_relay, certificate):
    url, engine, key, settings = stack
    recipient = address()

    with running(DeliveryWorker(engine, _secure(settings, secure_relay, certificate, smtp_password="wrong")).run):
        request_uid = send(url, key, email_body(recipient))
        wait_until(lambda: status(url, key, request_uid, "deferred")["deferred"] == 1, message="deferred, not bounced")
        wait_until(lambda: status(url, key, request_uid, "notSent")["notSent"] == 1, timeout=20, message="failed after the window")

    message, history = _message(engine, request_uid)
    assert message.attempts >= 2 and message.last_error == "smtp_setup_SMTPAuthenticationError"
    assert "delivered" not in history and "bounced" not in history
    assert secure_relay.to(recipient) == []


def test_a_certificate_the_client_does_not_trust_stops_the_mail(stack, secure_relay):
    settings = stack[3]
    untrusted = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": secure_relay.port, "smtp_starttls": True,
                                            "smtp_username": USER, "smtp_password": PASSWORD})  # system CAs only
    recipient, before = address(), secure_relay.mail_commands
    mailer = SmtpMailer(untrusted)

    with pytest.raises(DeliveryError) as refused:
        mailer.send(_outgoing(recipient))

    assert (refused.value.code, refused.value.permanent) == ("smtp_setup_SSLCertVerificationError", False)
    assert secure_relay.mail_commands == before and secure_relay.to(recipient) == []


def test_starttls_on_but_not_offered_sends_nothing_in_clear(stack, plain_relay):
    url, engine, key, settings = stack
    recipient = address()
    insisting = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": plain_relay.port, "smtp_starttls": True,
                                            "smtp_username": USER, "smtp_password": PASSWORD})
    before = plain_relay.mail_commands

    with running(DeliveryWorker(engine, insisting).run):
        request_uid = send(url, key, email_body(recipient))
        wait_until(lambda: status(url, key, request_uid, "deferred")["deferred"] == 1, message="deferred")
        wait_until(lambda: status(url, key, request_uid, "notSent")["notSent"] == 1, timeout=20, message="failed after the window")

    message, history = _message(engine, request_uid)
    assert message.last_error == "smtp_setup_SMTPNotSupportedError" and "delivered" not in history
    assert plain_relay.mail_commands == before and plain_relay.to(recipient) == []


def test_lao_script_mailbox_travels_as_smtputf8_where_offered(stack, utf8_relay):
    url, engine, key, settings = stack
    recipient = f"ສົມໃຈ.{unique()}@example.la"

    with running(DeliveryWorker(engine, settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": utf8_relay.port})).run):
        request_uid = send(url, key, email_body(recipient, content="ສະບາຍດີ"))
        [arrival] = wait_until(lambda: utf8_relay.to(recipient), message="SMTPUTF8 mail")
        wait_until(lambda: status(url, key, request_uid, "delivered")["delivered"] == 1, message="delivered")

    parsed = email.message_from_bytes(arrival.content, policy=email.policy.SMTPUTF8)
    assert recipient.encode() in arrival.content  # the header in UTF-8, not an encoded word
    assert recipient in str(parsed["To"]) and parsed.get_content().strip() == "ສະບາຍດີ"


def test_lao_script_mailbox_fails_at_once_where_smtputf8_is_not_offered(stack, plain_relay):
    url, engine, key, settings = stack
    recipient = f"ສົມໃຈ.{unique()}@example.la"
    before = plain_relay.mail_commands

    with running(DeliveryWorker(engine, settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": plain_relay.port})).run):
        request_uid = send(url, key, email_body(recipient))
        wait_until(lambda: status(url, key, request_uid, "bounced")["bounced"] == 1, message="failed at once")

    message, history = _message(engine, request_uid)
    assert (message.attempts, message.last_error) == (1, "smtputf8_not_offered") and "delivered" not in history
    assert plain_relay.mail_commands == before


def test_lao_domain_goes_out_as_idna_through_any_relay(stack, plain_relay):
    url, engine, key, settings = stack
    local = unique("somjai")

    with running(DeliveryWorker(engine, settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": plain_relay.port})).run):
        request_uid = send(url, key, email_body(f"{local}@ລາວ.ລາວ"))
        [arrival] = wait_until(lambda: plain_relay.to(f"{local}@xn--q7ce6a.xn--q7ce6a"), message="IDNA-encoded mail")
        wait_until(lambda: status(url, key, request_uid, "delivered")["delivered"] == 1, message="delivered")

    assert f"{local}@xn--q7ce6a.xn--q7ce6a".encode() in arrival.content  # the To header too


def test_production_refuses_relay_credentials_without_starttls():
    production = {"environment": "production", "messaging_secret": "s" * 40, "service_private_jwk": '{"kty": "RSA"}'}

    with pytest.raises(ValueError, match="SMTP_STARTTLS"):
        MessagingSettings(**production, smtp_username=USER, smtp_password=PASSWORD)
    assert MessagingSettings(**production, smtp_username=USER, smtp_password=PASSWORD, smtp_starttls=True).smtp_starttls
