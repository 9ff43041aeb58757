import pytest

from kernel.testing import serve
from messaging.app import create_app
from messaging.settings import MessagingSettings


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> MessagingSettings:
    return MessagingSettings(
        database_url=infrastructure.new_database("messaging"),
        amqp_url=infrastructure.new_vhost("messaging"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url
