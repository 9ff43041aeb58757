import pytest

pytest.register_assert_rewrite("services.registration.tests.api_client")

from kernel.db import make_engine  # noqa: E402
from kernel.testing import serve  # noqa: E402
from registration.app import create_app  # noqa: E402
from registration.settings import RegistrationSettings  # noqa: E402
from .api_client import Api  # noqa: E402

MAX_DOCUMENT_BYTES = 64 * 1024  # small, so the 413 path is cheap to reach


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer, tmp_path_factory) -> RegistrationSettings:
    return RegistrationSettings(
        database_url=infrastructure.new_database("registration"),
        amqp_url=infrastructure.new_vhost("registration"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
        fixtures="demo",
        data_dir=tmp_path_factory.mktemp("registration-data"),
        max_document_bytes=MAX_DOCUMENT_BYTES,
    )


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings)


@pytest.fixture(scope="session")
def base_url(app) -> str:
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def api(base_url, oidc_issuer) -> Api:
    return Api(base_url, oidc_issuer)


@pytest.fixture(scope="session")
def engine(settings):
    """For tests that look at what is stored, directly."""
    engine = make_engine(settings)
    yield engine
    engine.dispose()
