"""A provider that answers at once and then drips, a byte at a time well inside the read timeout: UPSTREAM_TIMEOUT_SECONDS
is one deadline for the whole exchange, so the caller is not held past it. Before the response started the caller gets
the X-Road error; after, the connection is cut and the exchange logged as interrupted, never as delivered."""
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session, select

from gateway.models import MessageLogEntry
from kernel.testing import TcpServer, wait_until

TIMEOUT = 2.0  # the session gateway's UPSTREAM_TIMEOUT_SECONDS and UPSTREAM_STREAM_TIMEOUT_SECONDS (conftest)
MARGIN = 3.0  # shared CPU: "in time" is within the deadline plus this
DRIP = 0.25  # seconds between two bytes: far inside the read timeout, so only the overall deadline can end the wait
STREAMED = 200_000  # declared size of the `stream` answer: over the gateway's whole-body limit, so it is streamed


class DrippingProvider:
    """A TCP server answering every request the same way: `head` drips its header lines, `body` a small body after
    complete headers, `stream` the rest of a large body after its first 100 kB. The request is read, not parsed."""

    def __init__(self, part: str):
        self.part, self.stopped = part, threading.Event()
        self.server = TcpServer(self._answer)
        self.url = self.server.url

    def _answer(self, connection: socket.socket, number: int) -> None:
        with connection:
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                if self.part == "head":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    self._drip(connection, 400)
                elif self.part == "body":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n")
                    self._drip(connection, 40)
                else:
                    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {STREAMED}\r\n\r\n"
                                       .encode() + b"s" * 100_000)
                    self._drip(connection, STREAMED - 100_000)
            except OSError:
                pass  # the gateway gave up on us: what the tests want

    def _drip(self, connection: socket.socket, count: int) -> None:
        for _ in range(count):
            if self.stopped.wait(DRIP):
                return
            connection.sendall(b"x")

    def close(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def dripping(exchange, base_url, admin_headers):
    providers = []

    def register(part: str) -> str:
        provider = DrippingProvider(part)
        providers.append(provider)
        service = f"drip-{part}-{uuid.uuid4().hex[:6]}"
        config = {"members": [{"class": "GOV", "code": exchange.provider[2], "applications": [{"id": exchange.provider[3], "services": [
            {"id": service, "serviceUrl": provider.url,
             "rights": [{"member": f"GOV/{exchange.client[2]}", "application": exchange.client[3]}]}]}]}]}
        assert httpx.patch(f"{base_url}/api/v1/config", json=config, headers=admin_headers).status_code == 201
        return service

    yield register
    for provider in providers:
        provider.close()


def rows(engine, message_id: str) -> list[MessageLogEntry]:
    with Session(engine) as session:
        return list(session.exec(select(MessageLogEntry).where(MessageLogEntry.message_id == message_id)))


def test_headers_dripping_past_the_deadline_are_a_504_and_others_are_served_meanwhile(exchange, dripping, engine):
    service, message_id = dripping("head"), str(uuid.uuid4())

    def slow_call():
        started = time.monotonic()
        response = httpx.get(exchange.url(service, "x"), headers=exchange.headers(**{"X-Road-Id": message_id}), timeout=60)
        return response, time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(slow_call)
        time.sleep(0.5)  # the dripping call is in flight
        other = httpx.get(exchange.url(path="x"), headers=exchange.headers(), timeout=TIMEOUT)
        response, elapsed = slow.result()

    assert other.status_code == 200
    assert response.status_code == 504 and response.headers["X-Road-Error"] == "Server.ServerProxy.ServiceTimeout"
    assert response.json()["type"] == "Server.ServerProxy.ServiceTimeout"
    assert TIMEOUT * 0.9 < elapsed < TIMEOUT + MARGIN  # the deadline, not the read timeout, ended it
    logged = wait_until(lambda: rows(engine, message_id), message="the timeout in the message log")
    assert [(row.outcome, row.error) for row in logged] == [("failed", "Server.ServerProxy.ServiceTimeout")]


def test_a_small_body_dripping_past_the_deadline_is_an_error_before_anything_went_out(exchange, dripping, engine):
    service, message_id = dripping("body"), str(uuid.uuid4())

    started = time.monotonic()
    response = httpx.get(exchange.url(service, "x"), headers=exchange.headers(**{"X-Road-Id": message_id}), timeout=60)
    elapsed = time.monotonic() - started

    assert response.status_code == 502 and response.headers["X-Road-Error"] == "Server.ServerProxy.ServiceFailed"
    assert "in time" in response.json()["message"]
    assert elapsed < TIMEOUT + MARGIN  # 40 bytes at one per 0.25 s would have taken 10 s
    logged = wait_until(lambda: rows(engine, message_id), message="the failure in the message log")
    assert [(row.outcome, row.error) for row in logged] == [("failed", "Server.ServerProxy.ServiceFailed")]


def test_a_streamed_body_dripping_past_the_deadline_is_cut_and_logged_as_interrupted(exchange, dripping, engine):
    service, message_id = dripping("stream"), str(uuid.uuid4())
    received = 0

    started = time.monotonic()
    with httpx.stream("GET", exchange.url(service, "x"), headers=exchange.headers(**{"X-Road-Id": message_id}), timeout=60) as response:
        assert response.status_code == 200  # the response had started: only cutting it can tell the caller
        with pytest.raises(httpx.HTTPError):  # the body ends short of a complete message
            for chunk in response.iter_bytes():
                received += len(chunk)
    elapsed = time.monotonic() - started

    assert 0 < received < STREAMED
    assert elapsed < TIMEOUT + MARGIN
    logged = wait_until(lambda: rows(engine, message_id), message="the interrupted exchange in the message log")
    assert [(row.outcome, row.error) for row in logged] == [("failed", "Server.ServerProxy.ResponseInterrupted")]
    time.sleep(0.5)  # nothing logs it as delivered afterwards either
    assert all(row.outcome != "delivered" for row in rows(engine, message_id))
