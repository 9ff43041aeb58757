"""The forwarding client (gateway.upstream) against scripted providers on real sockets: keep-alive reuse, a connection the
provider dropped, the ways an HTTP/1.1 response can be framed, deadlines, back-pressure and header injection."""
import asyncio
import socket
import threading

import pytest

from gateway.upstream import UpstreamFailed, UpstreamPool, origin
from kernel.testing import TcpServer


CLOSE = object()  # in an answer: the provider closes the connection there


class ScriptedProvider:
    """A TCP server: `answer(connection_number, request_number, request_head)` returns the bytes to send back for each
    request: bytes, or a list of bytes, pauses (float seconds) and CLOSE (None: close the connection without answering). Requests are split on the blank line; bodies are read by
    Content-Length."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []
        self.server = TcpServer(self._serve)
        self.url = self.server.url

    @property
    def connections(self) -> int:
        return self.server.connections

    def _serve(self, connection: socket.socket, number: int) -> None:
        buffered, served = b"", 0
        with connection:
            try:
                while True:
                    while b"\r\n\r\n" not in buffered:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffered += data
                    head, _, buffered = buffered.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(buffered) < length:
                        buffered += connection.recv(65536)
                    body, buffered = buffered[:length], buffered[length:]
                    self.requests.append((number, head, body))
                    served += 1
                    reply = self.answer(number, served, head)
                    if reply is None:
                        return
                    for part in reply if isinstance(reply, list) else [reply]:
                        if part is CLOSE:
                            return
                        if isinstance(part, float):
                            threading.Event().wait(part)
                        else:
                            connection.sendall(part)
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def provider():
    started = []

    def start(answer):
        started.append(ScriptedProvider(answer))
        return started[-1]

    yield start
    for server in started:
        server.close()


def ok(body: bytes = b"hello", *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), b"".join(h + b"\r\n" for h in extra), body)


def run(coroutine):
    return asyncio.run(coroutine)


async def fetch(pool: UpstreamPool, url: str, method: str = "GET", path: str = "/x", body: bytes = b"",
                headers: list | None = None, timeout: float = 5.0) -> tuple[int, list, bytes]:
    loop = asyncio.get_running_loop()
    response = await pool.request(method, origin(url), path, headers or [], body, deadline=loop.time() + timeout)
    content = await response.read(deadline=loop.time() + timeout)
    response.release()
    return response.status, response.raw_headers, content


def test_connections_are_kept_and_reused(provider):
    server = provider(lambda conn, n, head: ok(b"call %d" % n))

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        bodies = [(await fetch(pool, server.url))[2] for _ in range(3)]
        await pool.close()
        return bodies

    assert run(scenario()) == [b"call 1", b"call 2", b"call 3"]
    assert server.connections == 1


def test_the_request_goes_as_given_with_host_and_length(provider):
    server = provider(lambda conn, n, head: ok())

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        await fetch(pool, server.url + "/base/", "POST", "/items%23?a=1", b'{"x":1}', [("X-Custom", "v1"), ("X-Custom", "v2")])
        await pool.close()

    run(scenario())
    _, head, body = server.requests[0]
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /base/items%23?a=1 HTTP/1.1"
    port = server.url.rsplit(":", 1)[1].encode()
    assert b"Host: 127.0.0.1:" + port in lines and b"Content-Length: 7" in lines
    assert [line for line in lines if line.startswith(b"X-Custom")] == [b"X-Custom: v1", b"X-Custom: v2"]
    assert body == b'{"x":1}'


def test_a_kept_connection_the_provider_dropped_is_retried_for_a_get_but_not_for_a_post(provider):
    # The provider answers the first request of a connection and drops the connection on the second, unanswered: what a
    # provider closing an idle connection just as a request arrives looks like.
    server = provider(lambda conn, n, head: ok(b"fresh") if n == 1 else None)

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        await fetch(pool, server.url)
        retried = await fetch(pool, server.url)  # dropped, then sent again on a new connection
        with pytest.raises(UpstreamFailed):
            await fetch(pool, server.url, "POST", body=b"pay once")
        await pool.close()
        return retried

    assert run(scenario())[2] == b"fresh"
    posts = [request for request in server.requests if request[1].startswith(b"POST")]
    assert len(posts) == 1  # never sent twice


def test_chunked_until_close_head_no_content_and_interim_responses(provider):
    answers = {
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "/until-close": [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", CLOSE],
        "/head": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        "/nothing": b"HTTP/1.1 204 No Content\r\n\r\n",
        "/interim": b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final"),
    }

    server = provider(lambda conn, n, head: answers[head.split(b" ")[1].decode()])

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        results = {}
        for path in answers:
            method = "HEAD" if path == "/head" else "GET"
            results[path] = await fetch(pool, server.url, method, path, timeout=3)
        await pool.close()
        return results

    results = run(scenario())
    assert results["/chunked"][2] == b"hello world"
    assert results["/until-close"][2] == b"to the end"
    assert results["/head"][:1] == (200,) and results["/head"][2] == b""
    assert results["/nothing"][0] == 204 and results["/nothing"][2] == b""
    assert results["/interim"][0] == 200 and results["/interim"][2] == b"final"


def test_deadlines_for_the_head_and_for_the_body(provider):
    server = provider(lambda conn, n, head: [2.0, ok()] if head.startswith(b"GET /slow-head") else
                      [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 2.0, b"defghij"])

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await pool.request("GET", origin(server.url), "/slow-head", [], b"", deadline=loop.time() + 0.3)
        response = await pool.request("GET", origin(server.url), "/slow-body", [], b"", deadline=loop.time() + 1)
        with pytest.raises(TimeoutError):
            await response.read(deadline=loop.time() + 0.3)
        response.close()
        await pool.close()

    run(scenario())


def test_a_large_streamed_body_arrives_whole_and_in_order_when_read_slowly(provider):
    body = bytes(range(256)) * (32 * 1024)  # 8 MiB: past the buffer limit, so reading from the provider pauses and resumes
    server = provider(lambda conn, n, head: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        loop = asyncio.get_running_loop()
        response = await pool.request("GET", origin(server.url), "/big", [], b"", deadline=loop.time() + 5)
        received = bytearray()
        async for chunk in response.iter_chunks(silence=5):
            received += chunk
            if len(received) < 2 * 1024 * 1024:
                await asyncio.sleep(0.001)  # a slow caller at first
        response.release()
        again = await fetch(pool, server.url)  # the connection went back to the pool in a clean state
        await pool.close()
        return bytes(received), again

    received, again = run(scenario())
    assert received == body and again[2] == body
    assert server.connections == 1


def test_a_line_break_in_a_header_never_reaches_the_provider(provider):
    server = provider(lambda conn, n, head: ok())

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        with pytest.raises(ValueError):
            await fetch(pool, server.url, headers=[("X-Service", "a\r\nX-Injected: 1")])
        with pytest.raises(ValueError):
            await fetch(pool, server.url, headers=[("X-Service", "a\nb")])
        await pool.close()

    run(scenario())
    assert server.requests == []


def test_a_response_that_is_not_http_and_a_dead_port_fail_cleanly(provider):
    server = provider(lambda conn, n, head: b"SSH-2.0-OpenSSH\r\n\r\n")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
    dead.close()

    async def scenario():
        pool = UpstreamPool(connect_timeout=2)
        with pytest.raises(UpstreamFailed):
            await fetch(pool, server.url)
        with pytest.raises(UpstreamFailed):
            await fetch(pool, dead_url)
        await pool.close()

    run(scenario())


def test_an_https_provider_is_reached_only_with_a_certificate_the_gateway_trusts(tmp_path):
    """A provider registered with an https URL: the connection is TLS, its certificate checked against the trusted CAs
    (the shared TLS context, or the one given): a provider whose certificate chains to an unknown CA is not reached."""
    import ssl

    from cryptography.x509.oid import NameOID
    from fastapi import FastAPI

    from kernel.testing import Authority, serve

    ca = Authority(tmp_path, "provider-ca")
    cert_file, key_file, _ = ca.issue("provider", [(NameOID.COMMON_NAME, "provider")], ip="127.0.0.1")
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict:
        return {"over": "tls"}

    with serve(app, ssl_certfile=cert_file, ssl_keyfile=key_file) as url:
        assert url.startswith("https://")

        async def scenario():
            trusting = UpstreamPool(connect_timeout=2, tls=ssl.create_default_context(cafile=ca.cert_file))
            answer = await fetch(trusting, url, path="/hello")
            await trusting.close()
            default = UpstreamPool(connect_timeout=2)  # the system's CAs: this test CA is not among them
            with pytest.raises(UpstreamFailed):
                await fetch(default, url, path="/hello")
            await default.close()
            return answer

        status, _, body = run(scenario())
    assert status == 200 and body == b'{"over":"tls"}'
