import pytest

from kernel.testing import serve
from gateway.app import create_app
from gateway.settings import GatewaySettings


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> GatewaySettings:
    return GatewaySettings(
        database_url=infrastructure.new_database("gateway"),
        amqp_url=infrastructure.new_vhost("gateway"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url
