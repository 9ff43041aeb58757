"""The portal against real servers: identity, registration, consent and the gateway in-process, the portal in front of them."""
import httpx
import pytest
from sqlmodel import Session

from kernel.db import make_engine
from kernel.testing import free_port, serve
from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from identity import service_accounts
from identity.app import create_app as create_identity
from identity.fixtures import PORTAL_CLIENT_ID
from identity.models import OidcClient
from identity.settings import IdentitySettings
from registration.app import create_app as create_registration
from registration.settings import DEV_SERVICE_PUBLIC_JWK, RegistrationSettings
from web.app import create_app
from web.settings import WebSettings

PORTAL_AUDIENCE = "govstack-portal"  # citizens' access tokens are issued for the portal's client id


@pytest.fixture(scope="session")
def identity_url(infrastructure, oidc_issuer):
    port = free_port()
    settings = IdentitySettings(database_url=infrastructure.new_database("web_identity"), amqp_url=infrastructure.new_vhost("web_identity"),
                                port=port, public_url=f"http://127.0.0.1:{port}", oidc_issuers=[oidc_issuer.url],
                                environment="test", fixtures="demo")
    with serve(create_identity(settings), port=port) as url:
        yield url, settings


@pytest.fixture(scope="session")
def gateway_port() -> int:
    """Chosen first: registration asks the Consent BB through the gateway, which in turn routes to registration."""
    return free_port()


@pytest.fixture(scope="session")
def registration_url(infrastructure, oidc_issuer, identity_url, gateway_port, tmp_path_factory):
    engine = make_engine(identity_url[1])
    with Session(engine) as session:
        # What an administrator registers for the Registration BB: its key, and the verifier role for consent checks.
        service_accounts.upsert(session, client_id="registration-bb", name="Registration BB", public_key=DEV_SERVICE_PUBLIC_JWK,
                                scopes=[], roles=["verifier"])
        session.commit()
    engine.dispose()
    settings = RegistrationSettings(database_url=infrastructure.new_database("web_registration"),
                                    amqp_url=infrastructure.new_vhost("web_registration"), oidc_issuers=[identity_url[0], oidc_issuer.url],
                                    oidc_audience=["registration", PORTAL_AUDIENCE], environment="test", fixtures="demo",
                                    data_dir=tmp_path_factory.mktemp("web-registration-data"), identity_url=identity_url[0],
                                    gateway_url=f"http://127.0.0.1:{gateway_port}")
    with serve(create_registration(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def consent_url(infrastructure, oidc_issuer, identity_url, tmp_path_factory):
    settings = ConsentSettings(database_url=infrastructure.new_database("web_consent"), amqp_url=infrastructure.new_vhost("web_consent"),
                               oidc_issuers=[identity_url[0], oidc_issuer.url], oidc_audience=["consent", PORTAL_AUDIENCE],
                               environment="test", fixtures="demo", data_dir=tmp_path_factory.mktemp("web-consent-data"))
    with serve(create_consent(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def gateway_url(infrastructure, oidc_issuer, identity_url, registration_url, consent_url, gateway_port, tmp_path_factory):
    settings = GatewaySettings(database_url=infrastructure.new_database("web_gateway"), amqp_url=infrastructure.new_vhost("web_gateway"),
                               oidc_issuers=[identity_url[0], oidc_issuer.url], oidc_audience=["gateway", "consent", PORTAL_AUDIENCE],
                               environment="test", identity_url=identity_url[0], registration_url=registration_url, consent_url=consent_url,
                               forward_bearer_token=True,  # registration must know the signed-in citizen
                               data_dir=tmp_path_factory.mktemp("web-gateway-data"))  # its own message-log journal
    with serve(create_gateway(settings), port=gateway_port) as url:
        admin = oidc_issuer.token(sub="admin-1", audience="gateway", roles=["admin"], expires_in=3600)
        # The portal as a client application of the exchange, allowed to call the registration BB.
        config = {"members": [{"class": "GOV", "code": "LA-DGC", "applications": [
            {"id": "web-portal", "clientId": PORTAL_AUDIENCE},
            {"id": "registration-bb", "clientId": "registration-bb", "services": [
                {"id": "registration", "serviceUrl": registration_url, "rights": [{"member": "GOV/LA-DGC", "application": "web-portal"}]}]},
            {"id": "consent-bb", "clientId": "consent-bb", "services": [
                {"id": "consent", "serviceUrl": consent_url, "rights": [{"member": "GOV/LA-DGC", "application": "web-portal"},
                                                                        {"member": "GOV/LA-DGC", "application": "registration-bb"}]}]},
        ]}]}
        response = httpx.patch(f"{url}/api/v1/config", json=config, headers={"Authorization": f"Bearer {admin}"})
        assert response.status_code == 201, response.text
        yield url


@pytest.fixture(scope="session")
def settings(infrastructure, identity_url, gateway_url) -> WebSettings:
    port = free_port()
    return WebSettings(database_url=infrastructure.new_database("web"), amqp_url=infrastructure.new_vhost("web"), port=port,
                       public_url=f"http://127.0.0.1:{port}", identity_url=identity_url[0], gateway_url=gateway_url, environment="test")


@pytest.fixture(scope="session")
def base_url(settings, identity_url) -> str:
    # The demo fixture registers the portal's local address; the test portal runs on a free port instead.
    engine = make_engine(identity_url[1])
    with Session(engine) as session:
        client = session.get(OidcClient, PORTAL_CLIENT_ID)
        client.redirect_uris = [*client.redirect_uris, f"{settings.public_url}/auth/callback"]
        session.add(client)
        session.commit()
    engine.dispose()
    with serve(create_app(settings), port=settings.port) as url:
        yield url


@pytest.fixture(scope="session")
def registration_api(registration_url, oidc_issuer):
    """Direct calls to registration as an operator of the demo services (the console's pages are not part of these tests)."""

    def call(method: str, path: str, *, roles: list[str], **kwargs) -> httpx.Response:
        token = oidc_issuer.token(sub="operator-1", audience="registration", roles=roles, expires_in=600)
        return httpx.request(method, f"{registration_url}/{path}", headers={"Authorization": f"Bearer {token}",
                                                                          "Information-Mediator-Client": "LA/GOV/LA-DGC/web-portal"}, **kwargs)

    return call
