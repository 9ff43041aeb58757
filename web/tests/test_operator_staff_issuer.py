"""STAFF_ISSUER_URL (compose: Keycloak): staff sign in with another OpenID provider, found through its discovery document.
Keycloak cannot run here, so the Identity BB plays that provider: what is exercised is the discovery path the portal takes."""
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session

from identity.fixtures import PORTAL_CLIENT_ID
from identity.models import OidcClient
from kernel.db import make_engine
from kernel.testing import free_port, serve
from web.app import create_app
from web.settings import WebSettings
from .staff_helpers import staff_login


def _portal(infrastructure, identity_url, gateway_url, name: str, **staff_issuer) -> WebSettings:
    port = free_port()
    settings = WebSettings(database_url=infrastructure.new_database(name), amqp_url=infrastructure.new_vhost(name), port=port,
                           public_url=f"http://127.0.0.1:{port}", identity_url=identity_url[0], gateway_url=gateway_url, environment="test",
                           **staff_issuer)
    engine = make_engine(identity_url[1])
    with Session(engine) as session:
        client = session.get(OidcClient, PORTAL_CLIENT_ID)
        client.redirect_uris = [*client.redirect_uris, f"{settings.public_url}/auth/callback"]
        session.add(client)
        session.commit()
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def portal_url(infrastructure, identity_url, gateway_url):
    settings = _portal(infrastructure, identity_url, gateway_url, "web_staff_issuer", staff_issuer_url=identity_url[0])
    with serve(create_app(settings), port=settings.port) as url:
        yield url


def test_staff_sign_in_goes_to_the_discovered_authorization_endpoint_without_our_acr(portal_url, identity_url):
    response = httpx.get(f"{portal_url}/staff/sign-in")

    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert response.status_code == 303
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{identity_url[0]}/authorize"
    assert "acr_values" not in query and query["code_challenge_method"] == ["S256"]


def test_staff_sign_in_through_the_discovered_provider_opens_the_console(portal_url):
    with httpx.Client(base_url=portal_url, timeout=30) as browser:
        back = staff_login(browser, "operator")
        console = browser.get("/operator")

    assert back.status_code == 303 and back.headers["location"] == "/operator"
    assert console.status_code == 200 and 'id="staff-name">operator<' in console.text


def test_browsers_are_sent_to_the_providers_public_address(infrastructure, identity_url, gateway_url):
    settings = _portal(infrastructure, identity_url, gateway_url, "web_staff_browser", staff_issuer_url=identity_url[0],
                       staff_issuer_browser_url="http://login.example.la")
    with serve(create_app(settings), port=settings.port) as url:
        response = httpx.get(f"{url}/staff/sign-in")

    assert response.headers["location"].startswith("http://login.example.la/authorize?")


def test_an_unreachable_staff_provider_is_an_error_page_not_a_crash(infrastructure, identity_url, gateway_url):
    settings = _portal(infrastructure, identity_url, gateway_url, "web_staff_down", staff_issuer_url=f"http://127.0.0.1:{free_port()}/realms/x")
    with serve(create_app(settings), port=settings.port) as url:
        response = httpx.get(f"{url}/staff/sign-in")

    assert response.status_code == 502
