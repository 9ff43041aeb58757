"""A building block behind the gateway that is slow, silent, breaks off, or is down: callers get the documented X-Road
error within the configured time, other services keep answering, and a building block that comes back is used again
without anyone touching the gateway. (gateway/tests covers one slow and one dead upstream; this adds load, silence,
broken answers and recovery.)"""
import asyncio
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel.testing import TcpServer, free_port, serve

TIMEOUT = 3.0  # UPSTREAM_TIMEOUT_SECONDS and UPSTREAM_CONNECT_TIMEOUT_SECONDS of this gateway
MARGIN = 3.0  # shared CPU (gateway, building blocks and callers in this one process): "in time" is within the timeout plus this


def building_block() -> Starlette:
    async def answer(request):
        if request.url.path.endswith("/slow"):
            await asyncio.sleep(10 * TIMEOUT)
        return JSONResponse({"path": request.url.path})

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


class RawServer:
    """A TCP server misbehaving below HTTP: `silent` accepts and never answers, `broken` starts an answer and stops."""

    def __init__(self, behaviour: str):
        self.behaviour, self.open = behaviour, []
        self.server = TcpServer(self._answer, backlog=64)
        self.url = self.server.url

    def _answer(self, connection: socket.socket, number: int) -> None:
        self.open.append(connection)  # kept open: the gateway must give up on its own
        if self.behaviour == "broken":
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"par")

    def close(self) -> None:
        self.server.close()
        for connection in self.open:
            connection.close()


class Exchange:
    """A gateway in front of building blocks registered as services of one member; a client allowed to call them all."""

    def __init__(self, url: str, oidc_issuer):
        self.url = url
        self.member, self.client_id = f"BB{uuid.uuid4().hex[:8]}", f"caller-{uuid.uuid4().hex[:8]}"
        self.admin = {"Authorization": f"Bearer {oidc_issuer.token(audience='gateway', roles=['admin'])}"}
        config = {"members": [{"class": "GOV", "code": self.member, "applications": [{"id": "caller", "clientId": self.client_id}]}]}
        assert httpx.patch(f"{url}/api/v1/config", json=config, headers=self.admin).status_code == 201
        self.headers = {"Information-Mediator-Client": f"LA/GOV/{self.member}/caller",
                        "Authorization": f"Bearer {oidc_issuer.token(audience='gateway', client_id=self.client_id, expires_in=3600)}"}

    def register(self, service: str, service_url: str) -> None:
        config = {"members": [{"class": "GOV", "code": self.member, "applications": [{"id": "bb", "services": [
            {"id": service, "serviceUrl": service_url, "rights": [{"member": f"GOV/{self.member}", "application": "caller"}]}]}]}]}
        assert httpx.patch(f"{self.url}/api/v1/config", json=config, headers=self.admin).status_code == 201

    def call(self, service: str, path: str = "x") -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = httpx.get(f"{self.url}/r1/LA/GOV/{self.member}/bb/{service}/{path}", headers=self.headers, timeout=30 * TIMEOUT)
        return response, time.monotonic() - started


@pytest.fixture(scope="module")
def exchange(infrastructure, oidc_issuer):
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(database_url=infrastructure.new_database("gw_downstream"), amqp_url=infrastructure.new_vhost("gw_downstream"),
                               oidc_issuers=[oidc_issuer.url], environment="test", directory_cache_seconds=0.0,
                               upstream_timeout_seconds=TIMEOUT, upstream_connect_timeout_seconds=TIMEOUT)
    with serve(create_app(settings)) as url, serve(building_block()) as bb_url:
        exchange = Exchange(url, oidc_issuer)
        exchange.register("records", bb_url)
        yield exchange


def refused_with(response: httpx.Response, status: int, error: str) -> bool:
    body = response.json()
    return response.status_code == status and response.headers.get("X-Road-Error") == error and body.get("type", body.get("code")) == error


def test_many_callers_of_a_slow_service_time_out_while_other_calls_are_answered(exchange):
    with ThreadPoolExecutor(max_workers=20) as pool:
        slow = [pool.submit(exchange.call, "records", "slow") for _ in range(12)]
        time.sleep(0.5)  # the slow calls are in flight
        fast = [pool.submit(exchange.call, "records", "fine") for _ in range(6)]
        slow, fast = [f.result() for f in slow], [f.result() for f in fast]

    assert all(refused_with(response, 504, "Server.ServerProxy.ServiceTimeout") for response, _ in slow)
    assert max(elapsed for _, elapsed in slow) < TIMEOUT + MARGIN
    assert all(response.status_code == 200 for response, _ in fast)
    assert max(elapsed for _, elapsed in fast) < TIMEOUT  # answered before the slow ones even timed out: not queued behind them


def test_a_silent_service_times_out(exchange):
    silent = RawServer("silent")
    exchange.register("silent", silent.url)
    try:
        response, elapsed = exchange.call("silent")
    finally:
        silent.close()

    assert refused_with(response, 504, "Server.ServerProxy.ServiceTimeout")
    assert elapsed < TIMEOUT + MARGIN


def test_a_service_that_breaks_off_its_answer_is_a_clean_502(exchange):
    broken = RawServer("broken")
    exchange.register("broken", broken.url)
    try:
        response, elapsed = exchange.call("broken")
    finally:
        broken.close()

    assert refused_with(response, 502, "Server.ServerProxy.ServiceFailed")
    assert elapsed < TIMEOUT + MARGIN


def test_a_service_that_is_down_fails_fast_and_is_used_again_once_back(exchange):
    port = free_port()
    exchange.register("flaky", f"http://127.0.0.1:{port}")

    down, down_elapsed = exchange.call("flaky")
    with serve(building_block(), port=port):
        back, _ = exchange.call("flaky")
    down_again, _ = exchange.call("flaky")
    with serve(building_block(), port=port):
        back_again, _ = exchange.call("flaky")

    assert refused_with(down, 502, "Server.ServerProxy.ServiceFailed") and down_elapsed < MARGIN  # refused, not waited for
    assert back.status_code == 200 and back.json() == {"path": "/x"}
    assert refused_with(down_again, 502, "Server.ServerProxy.ServiceFailed")
    assert back_again.status_code == 200  # a pooled connection to the old process is not reused
