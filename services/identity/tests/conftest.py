import pytest

from kernel.testing import serve
from identity.app import create_app
from identity.settings import IdentitySettings


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> IdentitySettings:
    return IdentitySettings(
        database_url=infrastructure.new_database("identity"),
        amqp_url=infrastructure.new_vhost("identity"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url
