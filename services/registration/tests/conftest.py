import pytest

from kernel.testing import serve
from registration.app import create_app
from registration.settings import RegistrationSettings


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer) -> RegistrationSettings:
    return RegistrationSettings(
        database_url=infrastructure.new_database("registration"),
        amqp_url=infrastructure.new_vhost("registration"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url
