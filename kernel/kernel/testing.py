"""pytest plugin shared by every test: a fresh PostgreSQL database and RabbitMQ vhost per run, real servers, a test issuer.

Infrastructure comes from testcontainers when a Docker engine answers, otherwise from the local PostgreSQL and
RabbitMQ (never a skip). The OIDC issuer here is a real HTTP server with real keys: it stands in for the
Identity BB / Keycloak only in tests of other services' auth.
"""
import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

RUN_ID = uuid.uuid4().hex[:8]
SPANS = None  # every span finished in the test process, for trace assertions


def pytest_configure(config):
    """Install the process's tracer provider before any service does, with an in-memory exporter."""
    global SPANS
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    SPANS = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)


@pytest.fixture(autouse=True)
def _forget_spans():
    """Each test sees only its own spans, and a long run does not hoard them."""
    SPANS.clear()
    yield


@pytest.fixture
def spans():
    return SPANS


def wait_until(predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.05, message: str = "condition"):
    """Poll until predicate() is truthy; returns its value. A deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """A real SMTP server's handler (aiosmtpd) that keeps every mail it accepts."""

    def __init__(self):
        self.mails: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list:
        import email
        import email.policy

        return [email.message_from_bytes(content, policy=email.policy.default) for rcpt, content in list(self.mails) if address in rcpt]


@contextlib.contextmanager
def smtp_mailbox():
    """An SMTP server on a free local port, keeping what it accepts: yields (Mailbox, port)."""
    from aiosmtpd.controller import Controller  # a dev dependency: only tests that receive mail import it

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


class ServerThread:
    def __init__(self, app, port: int, **options):
        """options: more uvicorn.Config settings, e.g. TLS (ssl_certfile, ssl_keyfile, ssl_ca_certs, ssl_cert_reqs)."""
        self.port = port
        self.url = f"{'https' if options.get('ssl_certfile') else 'http'}://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on",
                                                    **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "ServerThread":
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=60, message=f"server on {self.url}")
        if not self.server.started:
            raise RuntimeError(f"server on {self.url} failed to start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Authority:
    """A test certificate authority (P-256, valid for an hour) that writes what it issues to PEM files: server
    certificates for TLS providers, client certificates for mutual TLS."""

    def __init__(self, directory, name: str):
        self.directory, self.key = directory, ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = self._build(self.name, self.key.public_key(), ca=True)
        self.cert_file = self._write(f"{name}.crt", self.cert.public_bytes(serialization.Encoding.PEM))

    def _build(self, subject: x509.Name, public_key, *, ca: bool = False, ip: str | None = None) -> x509.Certificate:
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ip:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def _write(self, name: str, data: bytes) -> str:
        path = self.directory / name
        path.write_bytes(data)
        return str(path)

    def issue(self, file_name: str, attributes: list[tuple], *, ip: str | None = None) -> tuple[str, str, x509.Certificate]:
        """(certificate file, key file, certificate)"""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._build(x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes]), key.public_key(), ip=ip)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return (self._write(f"{file_name}.crt", cert.public_bytes(serialization.Encoding.PEM)), self._write(f"{file_name}.key", key_pem), cert)


class TcpServer:
    """A scripted peer below HTTP, for what no well-behaved server does (dripping bytes, dropping connections, answers
    that are not HTTP): a local port whose connections each go to `handle(connection, number)` in a thread of their own
    (number counts connections from 1)."""

    def __init__(self, handle: Callable[[socket.socket, int], None], backlog: int = 16):
        self.handle, self.connections = handle, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.connections += 1
            threading.Thread(target=self.handle, args=(connection, self.connections), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def local_database(settings, migrations_package: str):
    """A service's database as `make run` has it without DATABASE_URL: SQLite in settings.data_dir, migrated; yields the
    engine."""
    from kernel.db import make_engine, migrate

    engine = make_engine(settings)
    assert engine.dialect.name == "sqlite", "settings with a DATABASE_URL: this is the local SQLite case"
    migrate(engine, migrations_package)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def serve(app, port: int | None = None, **options):
    """Run an ASGI app in a real uvicorn server on a free port; yields its base URL. options: see ServerThread."""
    server = ServerThread(app, port or free_port(), **options).start()
    try:
        yield server.url
    finally:
        server.stop()


_DOCS_FILE_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def docs_page_files(base_url: str, page: str) -> dict[str, str]:
    """The files an API docs page (/docs, /redoc) loads, each fetched from the service, as {address: content type}.
    Fails unless the page answers without a token, names no other host (nothing a browser without Internet access could
    not load) and each file answers 200 with the type its extension calls for."""
    from kernel.httpclient import new_client

    class Files(HTMLParser):
        def __init__(self):
            super().__init__()
            self.addresses: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.addresses += [value for name, value in attrs if name in ("src", "href") and tag in ("script", "link")]

    with new_client(base_url=base_url, timeout=10) as http:  # no token, no cookie
        response = http.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), (page, response.status_code)
        assert not re.search(r"\w+://", response.text), f"{page} names another host"
        parser = Files()
        parser.feed(response.text)
        assert parser.addresses, f"{page} loads no file"
        types = {}
        for address in parser.addresses:
            assert address.startswith("/") and not address.startswith("//"), f"{page} loads {address} from elsewhere"
            file = http.get(address)
            assert file.status_code == 200 and file.content, (address, file.status_code)
            types[address] = file.headers["content-type"].split(";")[0]
            assert types[address] == _DOCS_FILE_TYPES[address[address.rfind("."):]], (address, types[address])
    return types


@contextlib.contextmanager
def running(target: Callable[[threading.Event], None]):
    """Run a relay or consumer loop (a function of a stop event) in a thread for the duration of a block."""
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=15)


# --- infrastructure -------------------------------------------------------------------------------------------

def _docker_engine_available() -> bool:
    if os.environ.get("TESTS_USE_LOCAL_SERVICES") == "1" or shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Infrastructure:
    def __init__(self):
        self._containers = []
        if _docker_engine_available():
            from testcontainers.postgres import PostgresContainer
            from testcontainers.rabbitmq import RabbitMqContainer

            postgres = PostgresContainer("postgres:16-alpine", driver=None).start()
            rabbit = RabbitMqContainer("rabbitmq:3.13-management-alpine").start()
            self._containers = [postgres, rabbit]
            self.postgres_admin_url = postgres.get_connection_url()
            self.amqp_root = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}"
            self.local_rabbit = False
        else:
            self.postgres_admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
            self.amqp_root = os.environ.get("TEST_AMQP_ROOT", "amqp://guest:guest@127.0.0.1:5672")
            self.local_rabbit = True
        self._databases: list[str] = []
        self._vhosts: list[str] = []

    def new_database(self, name: str) -> str:
        database = f"t_{RUN_ID}_{name}"
        with psycopg.connect(self.postgres_admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{database}"')
        self._databases.append(database)
        parts = urlsplit(self.postgres_admin_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))

    def new_vhost(self, name: str) -> str:
        vhost = f"t_{RUN_ID}_{name}"
        if self.local_rabbit:
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        else:
            self._containers[1].exec(["rabbitmqctl", "add_vhost", vhost])
            self._containers[1].exec(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
        self._vhosts.append(vhost)
        return f"{self.amqp_root}/{quote(vhost, safe='')}"

    def restart_broker(self) -> None:
        """Stop and start RabbitMQ (durable queues and persistent messages must survive it)."""
        if self.local_rabbit:
            _rabbitmqctl("stop_app")
            _rabbitmqctl("start_app")
            subprocess.run(["rabbitmqctl", "-q", "await_startup"], check=True, capture_output=True, timeout=120)
        else:
            self._containers[1].get_wrapped_container().restart()

    def restart_database(self) -> None:
        """Restart PostgreSQL: every open connection is cut, as in a failover."""
        if self._containers:
            self._containers[0].get_wrapped_container().restart()
        else:
            version = sorted(os.listdir("/etc/postgresql"))[-1]
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                           capture_output=True, timeout=120)
        wait_until(self._database_answers, timeout=60, interval=0.5, message="PostgreSQL after restart")

    def _database_answers(self) -> bool:
        try:
            with psycopg.connect(self.postgres_admin_url, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception), psycopg.connect(self.postgres_admin_url, autocommit=True) as connection:
            for database in self._databases:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if self.local_rabbit:
            for vhost in self._vhosts:
                with contextlib.suppress(Exception):
                    _rabbitmqctl("delete_vhost", vhost)
        for container in self._containers:
            container.stop()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def infrastructure():
    infra = Infrastructure()
    yield infra
    infra.close()


# --- a real OIDC issuer for tests -------------------------------------------------------------------------------

class TestIssuer:
    """Discovery + JWKS over HTTP, and tokens signed with its keys; `rotate()` publishes a new key."""

    __test__ = False

    def __init__(self):
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": "RS256"})]
        self.url = ""

    def rotate(self) -> None:
        self.keys.append(RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": "RS256"}))

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def discovery(request):
            return JSONResponse({"issuer": self.url, "jwks_uri": self.url + "/jwks", "token_endpoint": self.url + "/token",
                                 "authorization_endpoint": self.url + "/authorize", "id_token_signing_alg_values_supported": ["RS256"]})

        async def jwks(request):
            return JSONResponse(KeySet(self.keys).as_dict(private=False))

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks)])

    def token(self, *, sub: str = "user-1", audience: str | list[str] = "service", roles: list[str] = (), scopes: list[str] = (),
              expires_in: int = 300, issuer: str | None = None, key: RSAKey | None = None, **claims) -> str:
        now = int(time.time())
        key = key or self.keys[-1]
        payload = {"iss": issuer or self.url, "sub": sub, "aud": audience, "iat": now, "exp": now + expires_in,
                   "jti": uuid.uuid4().hex, "roles": list(roles), "scope": " ".join(scopes), "client_id": claims.pop("client_id", "test-client"), **claims}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


@pytest.fixture(scope="session")
def oidc_issuer():
    issuer = TestIssuer()
    server = ServerThread(issuer.app(), free_port())
    issuer.url = server.url
    server.start()
    yield issuer
    server.stop()
