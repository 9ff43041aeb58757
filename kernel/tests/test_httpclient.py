"""kernel.httpclient: one TLS context per process, no cookies kept, and no service code making its own httpx clients."""
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI, Request, Response

from kernel.httpclient import new_client, shared_client, tls_context
from kernel.testing import ServerThread, free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [path for folder in ("kernel/kernel", "gateway/gateway", "services", "web/web") for path in (ROOT / folder).rglob("*.py")
           if "/tests/" not in str(path) and "/migrations/" not in str(path)]
# httpx.get()/post()/... and httpx.Client() each build a TLS context from the CA bundle (about 35 ms of CPU here).
OWN_CLIENT = re.compile(r"\bhttpx\.(get|post|put|patch|delete|head|options|request|stream|Client|AsyncClient)\(")


def _cookie_server():
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/set")
    def set_cookie(response: Response) -> dict:
        response.set_cookie("session", "from-the-server")
        return {}

    @app.get("/echo")
    def echo(request: Request) -> dict:
        seen.append(request.headers.get("cookie"))
        return {}

    return app, seen


def test_every_client_shares_one_tls_context():
    with new_client() as one, new_client(timeout=2.0) as other:
        assert one._transport._pool._ssl_context is tls_context() is other._transport._pool._ssl_context
    assert shared_client() is shared_client()
    assert shared_client()._transport._pool._ssl_context is tls_context()


def test_a_cookie_a_server_sets_is_never_sent_back():
    app, seen = _cookie_server()
    server = ServerThread(app, free_port())
    server.start()
    try:
        for client in (shared_client(), new_client()):
            assert "set-cookie" in client.get(server.url + "/set").headers
            client.get(server.url + "/echo")
        assert seen == [None, None]
    finally:
        server.stop()


def test_the_shared_client_serves_threads_at_once():
    app, seen = _cookie_server()
    server = ServerThread(app, free_port())
    server.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: shared_client().get(server.url + "/echo", timeout=10).status_code, range(64)))
        assert statuses == [200] * 64 and len(seen) == 64
    finally:
        server.stop()


def test_service_code_makes_no_httpx_client_of_its_own():
    offenders = [f"{path.relative_to(ROOT)}:{number}" for path in SOURCES if path.name != "httpclient.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if OWN_CLIENT.search(line)]
    assert SOURCES and offenders == [], "use kernel.httpclient.new_client() or shared_client(): " + ", ".join(offenders)
