import json
from dataclasses import dataclass

import pytest

pytest.register_assert_rewrite("services.identity.tests.helpers")

from kernel import bus, relay  # noqa: E402
from kernel.db import make_engine  # noqa: E402
from kernel.testing import free_port, running, serve, wait_until  # noqa: E402
from identity import maintenance  # noqa: E402
from identity.app import create_app  # noqa: E402
from identity.events import SendOtp  # noqa: E402
from identity.settings import IdentitySettings  # noqa: E402

from .helpers import enrol_person, new_partner, register_client, unique  # noqa: E402


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> IdentitySettings:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    return IdentitySettings(
        database_url=infrastructure.new_database("identity"),
        amqp_url=infrastructure.new_vhost("identity"),
        port=port,
        public_url=public_url,
        oidc_issuers=[oidc_issuer.url, public_url],  # identity trusts its own service tokens too
        environment="test",
        max_failed_attempts=3,
        link_poll_seconds=1.0,  # long polls answer response_timeout quickly in tests
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings), port=settings.port) as url:
        yield url


@pytest.fixture(scope="session")
def engine(settings, base_url):
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin_token(oidc_issuer) -> str:
    """A token from the trusted test IAM with the client-management scopes and the operator role."""
    return oidc_issuer.token(sub="admin-1", audience="identity", roles=["operator"], scopes=["add_oidc_client", "update_oidc_client"],
                             expires_in=3600)


@pytest.fixture(scope="module")
def rp(base_url, admin_token):
    """A relying party registered for the module, with its private key."""
    client_id, key = register_client(base_url, admin_token)
    return {"client_id": client_id, "key": key}


@pytest.fixture(scope="module")
def partner_id(engine) -> str:
    """A wallet partner registered for the module (API key helpers.PARTNER_KEY)."""
    return new_partner(engine)


@pytest.fixture(scope="module")
def binding_token(oidc_issuer) -> str:
    """The wallet backend's token from the trusted test IAM, with the wallet_binding scope."""
    return oidc_issuer.token(sub="wallet-backend", audience="identity", scopes=["wallet_binding"], expires_in=3600)


@pytest.fixture(scope="module")
def person(base_url, admin_token):
    """A citizen enrolled for the module (UIN and PIN)."""
    return enrol_person(base_url, admin_token)


@dataclass
class MessagingQueue:
    channel: object
    name: str

    def command_for(self, transaction_id: str) -> dict:
        """The otp command of this transaction (other transactions' commands are taken off the queue and skipped)."""
        found = {}

        def arrived():
            method, properties, body = self.channel.basic_get(self.name, auto_ack=True)
            if method is not None:
                envelope = json.loads(body)
                if envelope["data"].get("transaction_id") == transaction_id:
                    found.update(envelope=envelope, message_id=properties.message_id, routing_key=method.routing_key)
            return bool(found)

        wait_until(arrived, timeout=15, message="the otp command in the messaging queue")
        return found


@pytest.fixture(scope="module")
def messaging(settings, engine):
    """A queue bound to identity.otp.requested, as the Messaging BB binds one, with identity's relay and maintenance running."""
    name = unique("messaging-otp")
    connection = bus.connect(settings.amqp_url)
    channel = connection.channel()
    bus.declare_exchange(channel, settings.events_exchange)
    channel.queue_declare(queue=name, exclusive=True)
    channel.queue_bind(queue=name, exchange=settings.events_exchange, routing_key=SendOtp.type)
    quick = settings.model_copy(update={"maintenance_interval_seconds": 0.1})
    with running(lambda stop: relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(lambda stop: maintenance.run(quick, engine, stop)):
        yield MessagingQueue(channel, name)
    connection.close()
