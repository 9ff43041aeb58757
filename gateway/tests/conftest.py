import asyncio
import re
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.testing import serve
from gateway.app import create_app
from gateway.settings import GatewaySettings


def echo_app() -> Starlette:
    """A provider service that answers with what it received."""

    async def echo(request: Request):
        body = await request.body()
        if request.url.path == "/openapi.json":
            return JSONResponse({"openapi": "3.1.0", "info": {"title": "echo", "version": "1"},
                                 "paths": {"/v1/messages": {"post": {}, "get": {}}}})
        if request.url.path.endswith("/slow"):
            await asyncio.sleep(5)
        if request.url.path.endswith("/big"):
            return Response(b"x" * 300_000, media_type="application/octet-stream")
        return JSONResponse({"method": request.method, "path": request.url.path, "raw_path": request.scope["raw_path"].decode(),
                             "query": list(request.query_params.multi_items()),
                             "headers": dict(request.headers), "body": body.decode()}, status_code=201 if request.method == "POST" else 200,
                            headers={"X-Provider": "echo"})

    route = Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    route.path_regex = re.compile(r"^/(?P<path>.*)\Z", re.DOTALL)  # every path, line breaks included
    return Starlette(routes=[route])


class ConsentStandIn:
    """The Consent BB's verification contract: GET /service/verification/consent-record/?individualId=&dataAgreementId=."""

    def __init__(self):
        self.valid: set[tuple[str, str]] = set()
        self.calls = 0

    def app(self) -> Starlette:
        async def verify(request: Request):
            self.calls += 1
            key = (request.query_params.get("individualId"), request.query_params.get("dataAgreementId"))
            return JSONResponse({"valid": key in self.valid})

        return Starlette(routes=[Route("/service/verification/consent-record/", verify)])


@pytest.fixture(scope="session")
def consent():
    stand_in = ConsentStandIn()
    with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in


@pytest.fixture(scope="session")
def provider_url():
    with serve(echo_app()) as url:
        yield url


@pytest.fixture(scope="session")
def settings(infrastructure, oidc_issuer, consent, provider_url, tmp_path_factory) -> GatewaySettings:
    return GatewaySettings(
        database_url=infrastructure.new_database("gateway"),
        amqp_url=infrastructure.new_vhost("gateway"),
        oidc_issuers=[oidc_issuer.url],
        environment="test",
        consent_url=consent.url,
        messaging_url=provider_url,  # the messaging BB's place in the default directory, publishing its OpenAPI
        consent_cache_seconds=300,  # long: only the withdrawal event can end a cached "valid"
        consent_poll_seconds=0.1,
        data_dir=tmp_path_factory.mktemp("gateway-data"),  # the message log journal
        max_body_bytes=100_000,
        upstream_timeout_seconds=2.0,
        upstream_stream_timeout_seconds=2.0,
        fixtures="conformance",
        consumer_retry_delay_ms=300,
        push_backoff_seconds=0.2,  # failed pushes come back after 0.2, 0.4, 0.8 ... s
        push_max_attempts=8,
    )


@pytest.fixture(scope="session")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def admin_headers(oidc_issuer) -> dict:
    return {"Authorization": f"Bearer {oidc_issuer.token(sub='admin-1', audience='gateway', roles=['admin'], expires_in=3600)}"}


class Exchange:
    """Two members' applications registered through the configuration API: a provider with service `records` and a client."""

    def __init__(self, base_url: str, provider_url: str, oidc_issuer, admin_headers: dict):
        suffix = uuid.uuid4().hex[:8]
        self.base_url = base_url
        self.provider = ("LA", "GOV", f"MOH{suffix}", "patients")
        self.client = ("LA", "GOV", f"MOF{suffix}", "payments")
        self.stranger = ("LA", "COM", f"BANK{suffix}", "loans")
        self.client_id, self.stranger_client_id = f"payments-{suffix}", f"loans-{suffix}"
        config = {"members": [
            {"class": "GOV", "code": self.provider[2], "name": "Ministry of Health",
             "applications": [{"id": "patients", "services": [
                 {"id": "records", "serviceUrl": provider_url,
                  "rights": [{"member": f"GOV/{self.client[2]}", "application": "payments"}]},
                 {"id": "notes", "serviceUrl": provider_url}]}]},
            {"class": "GOV", "code": self.client[2], "applications": [{"id": "payments", "clientId": self.client_id}]},
            {"class": "COM", "code": self.stranger[2], "applications": [{"id": "loans", "clientId": self.stranger_client_id}]},
        ]}
        response = httpx.patch(f"{base_url}/api/v1/config", json=config, headers=admin_headers)
        assert response.status_code == 201, response.text
        self.client_token = oidc_issuer.token(sub=self.client_id, audience="gateway", client_id=self.client_id, expires_in=3600)
        self.stranger_token = oidc_issuer.token(sub=self.stranger_client_id, audience="gateway", client_id=self.stranger_client_id, expires_in=3600)

    def url(self, service: str = "records", path: str = "") -> str:
        return f"{self.base_url}/r1/{'/'.join(self.provider)}/{service}/{path}"

    def headers(self, *, client=None, token=None, **extra) -> dict:
        return {"Information-Mediator-Client": "/".join(client or self.client),
                "Authorization": f"Bearer {token or self.client_token}", **extra}


@pytest.fixture(scope="module")
def exchange(base_url, provider_url, oidc_issuer, admin_headers) -> Exchange:
    return Exchange(base_url, provider_url, oidc_issuer, admin_headers)


@pytest.fixture(scope="session")
def engine(settings, base_url):
    from kernel.db import make_engine

    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def logged(engine):
    """The message-log row of one exchange (None until the writer has stored it)."""
    from sqlmodel import Session, select

    from gateway.models import MessageLogEntry

    def find(message_id: str):
        with Session(engine) as session:
            return session.exec(select(MessageLogEntry).where(MessageLogEntry.message_id == message_id)).first()

    return find
