import uuid

import httpx
import pytest
from joserfc.jwk import ECKey

from consent.app import create_app
from consent.settings import ConsentSettings
from kernel.db import make_engine
from kernel.testing import serve

pytest.register_assert_rewrite("services.consent.tests.api")

from .api import key_attestation, wallet_certificate  # noqa: E402  (after the rewrite registration, so its asserts are rewritten)


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer, tmp_path_factory) -> ConsentSettings:
    return ConsentSettings(
        database_url=infrastructure.new_database("consent"),
        amqp_url=infrastructure.new_vhost("consent"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
        data_dir=tmp_path_factory.mktemp("consent-data"),
        consumer_retry_delay_ms=200,
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def engine(settings, base_url):
    engine = make_engine(settings)  # the server has migrated by now
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def tokens(oidc_issuer):
    """Bearer headers by role; a citizen's token carries its own subject."""

    def headers(*roles: str, sub: str | None = None) -> dict:
        token = oidc_issuer.token(sub=sub or f"svc-{uuid.uuid4().hex[:8]}", audience="consent", roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


@pytest.fixture
def admin(tokens):
    return tokens("admin")


@pytest.fixture
def verifier(tokens):
    return tokens("verifier")


@pytest.fixture
def auditor(tokens):
    return tokens("auditor")


class Citizen:
    """A citizen with an OIDC subject, a registered individual and its own signing key, certified and attested as the
    citizen's by the token issuer (which plays the Identity BB here; tests/test_citizen_key_binding.py uses a real one)."""

    def __init__(self, client: httpx.Client, tokens, issuer):
        self.subject = f"citizen-{uuid.uuid4().hex[:8]}"
        self.headers = tokens("citizen", sub=self.subject)
        self.key = ECKey.generate_key("P-256", private=True)
        self.certificate = wallet_certificate(issuer.keys[-1], self.key)
        response = client.post("/service/individual/", headers=self.headers, json={"individual": {
            "externalId": self.subject, "externalIdType": "oidc subject", "identityProviderId": "test",
            "publicKeyJwk": self.key.as_dict(private=False), "publicKeyCertificate": self.certificate,
            "keyBindingAttestation": key_attestation(issuer, self.key, subject=self.subject)}})
        assert response.status_code == 200, response.text
        self.individual_id = response.json()["individual"]["id"]
        self.headers = {**self.headers, "X-ConsentBB-IndividualId": self.individual_id}


@pytest.fixture
def new_citizen(client, tokens, oidc_issuer):
    return lambda: Citizen(client, tokens, oidc_issuer)
