"""The gateway forwards the path after the service code as the caller encoded it: an encoded "#" or "?" is part of an id,
not the start of a fragment or a query (the web portal's fuzzing found /drafts/%23 reaching the provider as /drafts/)."""
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel.testing import serve


def raw_path_echo() -> Starlette:
    async def echo(request):
        return JSONResponse({"raw_path": request.scope["raw_path"].decode("latin-1"), "query": request.scope["query_string"].decode("latin-1")})

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def forward(infrastructure, oidc_issuer):
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(database_url=infrastructure.new_database("gw_paths"), amqp_url=infrastructure.new_vhost("gw_paths"),
                               oidc_issuers=[oidc_issuer.url], environment="test")
    member, client_id = f"P{uuid.uuid4().hex[:8]}", f"caller-{uuid.uuid4().hex[:8]}"
    with serve(create_app(settings)) as url, serve(raw_path_echo()) as provider:
        admin = {"Authorization": f"Bearer {oidc_issuer.token(audience='gateway', roles=['admin'])}"}
        config = {"members": [{"class": "GOV", "code": member, "applications": [
            {"id": "caller", "clientId": client_id},
            {"id": "bb", "services": [{"id": "echo", "serviceUrl": provider, "rights": [{"member": f"GOV/{member}", "application": "caller"}]}]}]}]}
        assert httpx.patch(f"{url}/api/v1/config", json=config, headers=admin).status_code == 201
        headers = {"Information-Mediator-Client": f"LA/GOV/{member}/caller",
                   "Authorization": f"Bearer {oidc_issuer.token(audience='gateway', client_id=client_id, expires_in=3600)}"}

        def call(path: str) -> httpx.Response:
            return httpx.get(httpx.URL(f"{url}/r1/LA/GOV/{member}/bb/echo/{path}"), headers=headers, timeout=10)

        yield call


@pytest.mark.parametrize("path", ["drafts/%23", "drafts/a%3Fb", "drafts/%25", "drafts/a%20b", "drafts/%E0%BA%A5%E0%BA%B2%E0%BA%A7"])
def test_an_encoded_path_reaches_the_provider_as_sent(forward, path):
    response = forward(path)

    assert response.status_code == 200, response.text
    assert response.json() == {"raw_path": f"/{path}", "query": ""}


def test_the_query_string_still_travels_beside_the_path(forward):
    response = forward("drafts/a%3Fb?x=1&y=%23")

    assert response.json() == {"raw_path": "/drafts/a%3Fb", "query": "x=1&y=%23"}
