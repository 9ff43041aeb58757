import pytest

from kernel.testing import serve
from consent.app import create_app
from consent.settings import ConsentSettings


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> ConsentSettings:
    return ConsentSettings(
        database_url=infrastructure.new_database("consent"),
        amqp_url=infrastructure.new_vhost("consent"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url
