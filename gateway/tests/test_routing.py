"""Forwarding through /r1/...: what passes, what is refused, and what the log says about it."""
import uuid

import httpx
import pytest

from kernel.testing import wait_until


def call(method, url, **kwargs) -> httpx.Response:
    return httpx.request(method, url, timeout=10, **kwargs)


@pytest.fixture(params=["traced", "untraced"])
def path_taken(request, monkeypatch):
    """Forwarded calls take the full middleware stack while spans are recorded (as in these tests), else the gateway's
    short path with its one-write response (production without a trace exporter): both are checked."""
    if request.param == "untraced":
        from gateway import app

        monkeypatch.setattr(app, "_spans_recorded", lambda: False)
    return request.param


def test_allowed_call_reaches_the_provider_unchanged_and_is_logged(exchange, logged, path_taken):
    message_id = str(uuid.uuid4())

    response = call("POST", exchange.url(path="v1/patients?x=1&x=2"), content=b'{"a": 1}',
                    headers=exchange.headers(**{"X-Road-Id": message_id, "Content-Type": "application/json", "X-Custom": "kept"}))

    assert response.status_code == 201
    echoed = response.json()
    assert echoed["method"] == "POST" and echoed["path"] == "/v1/patients"
    assert echoed["query"] == [["x", "1"], ["x", "2"]]
    assert echoed["body"] == '{"a": 1}'
    assert echoed["headers"]["x-custom"] == "kept"
    assert echoed["headers"]["x-road-client"] == "/".join(exchange.client)
    assert echoed["headers"]["authorization"] == exchange.headers()["Authorization"]  # providers authenticate users too
    assert response.headers["X-Road-Id"] == message_id
    assert response.headers["X-Road-Service"] == "/".join(exchange.provider) + "/records"
    assert len(response.headers["X-Road-Request-Hash"]) == 64
    assert response.headers["X-Provider"] == "echo"
    row = wait_until(lambda: logged(message_id), message="the exchange in the message log")
    assert (row.outcome, row.status, row.client) == ("delivered", 201, "/".join(exchange.client))
    assert row.request_size == 8 and row.response_size == len(response.content)
    assert row.request_body is None  # payloads are not kept unless configured


def test_a_path_with_a_line_break_or_nul_reaches_the_provider_unchanged_and_is_logged(exchange, logged, path_taken):
    for path, stored in (("v1/items%0A", "/v1/items\n"), ("v1/%0A/x%0D%0A", "/v1/\n/x\r\n"), ("v1/a%00b", "/v1/a\ufffdb")):
        message_id = str(uuid.uuid4())

        response = call("GET", exchange.url(path=path), headers=exchange.headers(**{"X-Road-Id": message_id}))

        assert response.status_code == 200, response.text
        assert response.json()["raw_path"] == "/" + path  # not cut at the line break, not redirected elsewhere
        # PostgreSQL cannot store a NUL: the log keeps a replacement character in its place, and the rest of the batch.
        row = wait_until(lambda: logged(message_id), message="the exchange in the message log")
        assert (row.outcome, row.path) == ("delivered", stored)


def test_a_second_unproven_client_header_does_not_reach_the_provider(exchange):
    headers = exchange.headers(**{"X-GovStack-Client": "/".join(exchange.stranger)})

    echoed = call("GET", exchange.url(path="x"), headers=headers).json()

    assert echoed["headers"]["x-govstack-client"] == "/".join(exchange.client)
    assert echoed["headers"]["information-mediator-client"] == "/".join(exchange.client)


def test_the_provider_gets_the_callers_headers_and_nothing_of_the_forwarding_clients_own(exchange):
    with httpx.Client(timeout=10) as client:
        for name in ("accept", "accept-encoding", "user-agent"):
            client.headers.pop(name, None)  # a caller that sends none of them
        echoed = client.get(exchange.url(path="x"), headers=exchange.headers()).json()

    # An Accept-Encoding of the gateway's own would bring the caller a compressed body it never asked for.
    assert not {"accept", "accept-encoding", "user-agent"} & set(echoed["headers"])


def test_service_without_a_right_is_refused_and_logged(exchange, logged):
    message_id = str(uuid.uuid4())

    response = call("GET", exchange.url("notes", "x"), headers=exchange.headers(**{"X-Road-Id": message_id}))

    assert response.status_code == 403
    assert response.headers["X-Road-Error"] == "Server.ServerProxy.AccessDenied"
    assert response.json()["type"] == "Server.ServerProxy.AccessDenied"
    row = wait_until(lambda: logged(message_id), message="the refusal in the message log")
    assert (row.outcome, row.error) == ("refused", "Server.ServerProxy.AccessDenied")


def test_client_header_naming_another_application_is_refused(exchange):
    # The stranger holds a valid token, but of its own application, and claims to be the allowed client.
    response = call("GET", exchange.url(path="x"), headers=exchange.headers(token=exchange.stranger_token))

    assert response.status_code == 403
    assert response.headers["X-Road-Error"] == "Client.AuthenticationFailed"


def test_client_header_alone_is_not_trusted(exchange):
    response = call("GET", exchange.url(path="x"), headers={"X-Road-Client": "/".join(exchange.client)})

    assert response.status_code == 401
    assert response.headers["X-Road-Error"] == "Client.AuthenticationFailed"


def test_all_three_client_headers_name_the_caller(exchange):
    for header in ("Information-Mediator-Client", "X-Road-Client", "X-GovStack-Client"):
        response = call("GET", exchange.url(path="x"), headers={header: "/".join(exchange.client),
                                                                "Authorization": f"Bearer {exchange.client_token}"})
        assert response.status_code == 200, header


def test_token_for_another_audience_is_refused(exchange, oidc_issuer):
    token = oidc_issuer.token(audience="another-exchange", client_id=exchange.client_id)  # neither the gateway nor a BB behind it

    response = call("GET", exchange.url(path="x"), headers=exchange.headers(token=token))

    assert response.status_code == 401


def test_unknown_service_and_unknown_member_are_reported(exchange, base_url):
    unknown_service = call("GET", exchange.url("nosuch", "x"), headers=exchange.headers())
    unknown_member = call("GET", f"{base_url}/r1/LA/GOV/NOBODY/app/svc/x", headers=exchange.headers())

    assert unknown_service.status_code == 404
    assert unknown_service.headers["X-Road-Error"] == "Server.ServerProxy.UnknownService"
    assert unknown_member.status_code == 404


def test_unregistered_client_is_refused(exchange):
    response = call("GET", exchange.url(path="x"), headers=exchange.headers(client=("LA", "GOV", "NOBODY", "app")))

    assert response.status_code == 403
    assert response.headers["X-Road-Error"] == "Client.UnknownClient"


def test_malformed_paths_and_client_headers_are_bad_requests(exchange, base_url):
    short_path = call("GET", f"{base_url}/r1/LA/GOV", headers=exchange.headers())
    bad_header = call("GET", exchange.url(path="x"), headers={"X-Road-Client": "not-a-client-id",
                                                              "Authorization": f"Bearer {exchange.client_token}"})

    assert short_path.status_code == 400 and short_path.headers["X-Road-Error"] == "Client.BadRequest"
    assert bad_header.status_code == 400 and bad_header.headers["X-Road-Error"] == "Client.BadRequest"


def test_oversized_body_is_refused_and_the_gateway_keeps_serving(exchange):
    too_big = call("POST", exchange.url(path="x"), content=b"x" * 200_000, headers=exchange.headers())
    chunked = call("POST", exchange.url(path="x"), content=iter([b"x" * 60_000, b"x" * 60_000]), headers=exchange.headers())
    after = call("GET", exchange.url(path="x"), headers=exchange.headers())

    assert too_big.status_code == 413 and too_big.headers["X-Road-Error"] == "Client.RequestTooLarge"
    assert chunked.status_code == 413
    assert after.status_code == 200


def test_large_response_is_streamed_whole(exchange):
    response = call("GET", exchange.url(path="big"), headers=exchange.headers())

    assert response.status_code == 200
    assert len(response.content) == 300_000


def test_disabled_service_is_refused_until_enabled(exchange, base_url, admin_headers):
    service = f"{base_url}/api/v1/services/{'/'.join(exchange.provider)}/records"

    assert httpx.patch(service, json={"enabled": False}, headers=admin_headers).status_code == 200
    disabled = call("GET", exchange.url(path="x"), headers=exchange.headers())
    assert httpx.patch(service, json={"enabled": True}, headers=admin_headers).status_code == 200
    enabled = call("GET", exchange.url(path="x"), headers=exchange.headers())

    assert disabled.status_code == 503 and disabled.headers["X-Road-Error"] == "Server.ServerProxy.ServiceDisabled"
    assert enabled.status_code == 200


def test_dead_upstream_is_a_502_logged_as_failed(exchange, base_url, admin_headers, logged):
    from kernel.testing import free_port

    service = f"{base_url}/api/v1/services/{'/'.join(exchange.provider)}/records"
    original = httpx.get(f"{base_url}/api/v1/config", headers=admin_headers).json()
    url = next(s["serviceUrl"] for m in original["members"] for a in m["applications"] for s in a["services"]
               if m["code"] == exchange.provider[2] and s["id"] == "records")
    httpx.patch(service, json={"serviceUrl": f"http://127.0.0.1:{free_port()}"}, headers=admin_headers)
    message_id = str(uuid.uuid4())
    try:
        response = call("GET", exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    finally:
        httpx.patch(service, json={"serviceUrl": url}, headers=admin_headers)

    assert response.status_code == 502
    assert response.headers["X-Road-Error"] == "Server.ServerProxy.ServiceFailed"
    row = wait_until(lambda: logged(message_id), message="the failure in the message log")
    assert row.outcome == "failed"
    assert call("GET", exchange.url(path="x"), headers=exchange.headers()).status_code == 200


def test_slow_upstream_times_out_with_504(exchange):
    response = call("GET", exchange.url(path="slow"), headers=exchange.headers())

    assert response.status_code == 504
    assert response.headers["X-Road-Error"] == "Server.ServerProxy.ServiceTimeout"


def test_oversized_caller_values_are_logged_cut_and_the_log_keeps_going(exchange, logged):
    long_id = "m" * 300
    follow_up = str(uuid.uuid4())

    call("GET", exchange.url(path="p" * 3000), headers=exchange.headers(**{"X-Road-Id": long_id}))
    call("GET", exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": follow_up}))

    assert wait_until(lambda: logged("m" * 200), message="the long exchange logged, cut").path.startswith("/ppp")
    assert wait_until(lambda: logged(follow_up), message="the next exchange logged").outcome == "delivered"


def test_a_fault_of_the_gateway_is_a_500_logged_under_the_callers_message_id(exchange, logged, monkeypatch):
    """Fault injected (a bug cannot be produced on demand): the exchange still reaches the log, as failed."""
    from gateway.routes import proxy

    def broken(url: str) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(proxy, "_base_url", broken)
    message_id = str(uuid.uuid4())

    response = call("GET", exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))

    assert response.status_code == 500 and response.headers["X-Road-Error"] == "Server.ServerProxy.InternalError"
    assert response.headers["X-Road-Id"] == message_id and response.json()["detail"] == message_id
    row = wait_until(lambda: logged(message_id), message="the failed exchange in the message log")
    assert (row.outcome, row.status, row.error) == ("failed", 500, "Server.ServerProxy.InternalError")


def test_a_forwarded_response_has_one_date_and_one_server_header(exchange, path_taken):
    for path in ("x", "big"):  # whole and streamed responses
        response = call("GET", exchange.url(path=path), headers=exchange.headers())

        assert response.status_code == 200
        assert [len(response.headers.get_list(name)) for name in ("date", "server")] == [1, 1], path


def _raw_exchange(base_url: str, request: bytes) -> bytes:
    """Everything the gateway sends back on one connection until it closes it (or 2 s pass, well inside uvicorn's 5 s
    keep-alive timeout)."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=2) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            received += b"<still open>"
    return received


def test_a_whole_response_keeps_http_framing_for_head_and_connection_close(exchange, base_url, path_taken):
    """Whole responses go out in one write of the gateway's own (not uvicorn's send): HEAD gets no body, and a caller
    asking to close gets `connection: close` and a closed connection after the response, keep-alive otherwise."""
    path = exchange.url(path="x").removeprefix(base_url)
    headers = "".join(f"{name}: {value}\r\n" for name, value in exchange.headers().items())

    head = _raw_exchange(base_url, f"HEAD {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n{headers}\r\n".encode())
    status, _, rest = head.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK" and b"\r\nconnection: close\r\n" in rest.lower()
    assert rest.endswith(b"\r\n\r\n")  # no body, then closed (not left open)

    two = _raw_exchange(base_url, (f"GET {path} HTTP/1.1\r\nHost: gw\r\n{headers}\r\n"
                                   f"GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n{headers}\r\n").encode())
    assert two.count(b"HTTP/1.1 200 OK\r\n") == 2  # pipelined: both answered, in order, on one connection
    assert two.lower().count(b"connection: close") == 1 and not two.endswith(b"<still open>")
    kept = _raw_exchange(base_url, f"GET {path} HTTP/1.1\r\nHost: gw\r\n{headers}\r\n".encode())
    assert kept.endswith(b"<still open>") and b"connection: close" not in kept.lower()
