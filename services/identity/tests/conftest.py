import pytest

pytest.register_assert_rewrite("services.identity.tests.helpers")

from kernel.db import make_engine  # noqa: E402
from kernel.testing import free_port, serve  # noqa: E402
from identity.app import create_app  # noqa: E402
from identity.settings import IdentitySettings  # noqa: E402

from .helpers import enrol_person, register_client  # noqa: E402


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
def person(base_url, admin_token):
    """A citizen enrolled for the module (UIN and PIN)."""
    return enrol_person(base_url, admin_token)
