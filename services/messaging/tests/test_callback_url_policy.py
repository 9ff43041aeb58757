"""Callback URLs come from callers: in production they may not reach internal addresses (SSRF), neither when a request
registers one nor when the consumer posts to it later, after DNS may have changed."""
import socket

import httpx
import pytest

from kernel.db import UnitOfWork
from kernel.events import Envelope
from kernel.testing import serve
from messaging import callback_urls, crypto
from messaging.app import create_app
from messaging.callback_urls import CallbackRefused
from messaging.events import MessageDelivered
from messaging.handlers import post_delivery_callback
from messaging.models import Message, SendRequest, new_id
from messaging.settings import MessagingSettings
from .conftest import make_api_key
from .helpers import address, email_body, unique

INTERNAL = [
    "http://127.0.0.1:8001/admin", "http://localhost:8004/", "http://10.1.2.3/", "http://172.16.0.9/",
    "http://192.168.1.1/", "http://100.64.0.1/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:8000/",
    "http://224.0.0.1/", "http://[::1]:8000/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://[fd00::5]/",
    "http://no-such-host.invalid/cb",
]


@pytest.fixture
def strict(settings):
    """What production does by default: no callbacks to internal addresses."""
    return settings.model_copy(update={"callback_allow_private": False})


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for the test's own host names, in turn (the last one repeats); every other name resolves as usual."""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_production_refuses_internal_callbacks_by_default_and_development_allows_them():
    production = MessagingSettings(environment="production", messaging_secret="s" * 40, service_private_jwk='{"kty": "RSA"}')

    assert production.callback_private_allowed is False
    assert MessagingSettings(environment="development").callback_private_allowed is True
    assert MessagingSettings(environment="test", callback_allow_private=False).callback_private_allowed is False


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_hosts_are_refused(strict, url):
    with pytest.raises(CallbackRefused):
        callback_urls.check(url, strict)


@pytest.mark.parametrize("url", ["ftp://example.la/x", "https://user:secret@example.la/cb", "http:///nohost", "not a url"])
def test_urls_that_are_not_plain_http_are_refused_everywhere(settings, url):
    assert settings.callback_private_allowed  # even where internal hosts are allowed
    with pytest.raises(CallbackRefused):
        callback_urls.check(url, settings)


def test_a_public_host_is_pinned_to_the_address_that_was_checked(strict, fake_dns):
    answers, _ = fake_dns
    answers["callbacks.example.la"] = ["8.8.4.4"]

    target = callback_urls.check("https://callbacks.example.la/hooks/delivery?x=1", strict)

    assert target.url == "https://8.8.4.4:443/hooks/delivery?x=1"
    assert target.headers == {"Host": "callbacks.example.la"}
    assert target.extensions == {"sni_hostname": "callbacks.example.la"}


def test_a_name_with_one_internal_address_among_public_ones_is_refused(strict, monkeypatch):
    real = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host != "mixed.example.la":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.4.4", port)), (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)

    with pytest.raises(CallbackRefused):
        callback_urls.check("https://mixed.example.la/cb", strict)


def test_listed_prefixes_match_scheme_host_port_and_path_not_text(strict):
    listed = strict.model_copy(update={"callback_url_prefixes": ["https://registration.gov.la/hooks/", "http://127.0.0.1:9000"]})

    assert callback_urls.check("https://registration.gov.la/hooks/delivery", listed).url == "https://registration.gov.la/hooks/delivery"
    assert callback_urls.check("http://127.0.0.1:9000/any", listed).url == "http://127.0.0.1:9000/any"  # explicitly allowed
    for url in ("https://registration.gov.la.evil.example/hooks/", "https://registration.gov.la/other", "http://registration.gov.la/hooks/x",
                "http://127.0.0.1:9000@evil.example/", "http://127.0.0.1:90001/", "http://127.0.0.1:9001/", "https://registration.gov.la:8443/hooks/"):
        with pytest.raises(CallbackRefused):
            callback_urls.check(url, listed)


def test_send_with_an_internal_callback_gets_405_in_the_spec_shape(strict, engine, http_receiver):
    key = make_api_key(engine)
    allowed = strict.model_copy(update={"callback_url_prefixes": [f"{http_receiver.url}/hooks/"]})
    with serve(create_app(strict)) as url:
        refused = [httpx.post(f"{url}/send/email/single", json=email_body(address(), callback_uri=callback), headers={"api_key": key})
                   for callback in (f"{http_receiver.url}/hooks/cb", "http://169.254.169.254/latest/meta-data/")]
    with serve(create_app(allowed)) as url:
        listed = httpx.post(f"{url}/send/email/single", json=email_body(address(), callback_uri=f"{http_receiver.url}/hooks/cb"), headers={"api_key": key})

    for response in refused:
        assert response.status_code == 405, response.text
        body = response.json()
        assert (body["response"], body["code"]) == ("Invalid input", "invalid_input")
        assert body["details"] == [{"field": "body", "reason": "host resolves to an internal address"}]
    assert listed.status_code == 200, listed.text


def _delivered_request(engine, settings, callback_uri: str) -> tuple[Envelope, str]:
    """A delivered message whose request registered this callback URI (as if DNS had said public back then)."""
    with UnitOfWork(engine, source="test") as uow:
        request = SendRequest(request_uid=unique("uid"), caller="test", channel="email", priority="routine", content_hash=new_id(),
                              dedupe_window=0, callback_uri=callback_uri,
                              content_enc=crypto.encrypt(settings.messaging_secret, {"title": "t", "content": "c"}))
        uow.session.add(request)
        uow.session.flush()
        message = Message(request_id=request.id, status="delivered", recipient_enc=crypto.encrypt(settings.messaging_secret, {"email": address()}))
        uow.session.add(message)
        uow.commit()
        return Envelope.new(source="test", type=MessageDelivered.type, data={"message_id": message.id, "request_id": request.id}), request.request_uid


def _post_callback(engine, settings, envelope: Envelope) -> None:
    with UnitOfWork(engine, source="test") as uow:
        post_delivery_callback(envelope, uow, settings)


def test_a_host_that_resolves_inside_by_send_time_gets_no_callback(strict, engine, http_receiver, fake_dns):
    answers, _ = fake_dns
    port = http_receiver.url.rsplit(":", 1)[1]
    answers["callbacks.example.la"] = ["8.8.4.4", "127.0.0.1"]  # public when registered, loopback at send time
    callback_urls.check(f"http://callbacks.example.la:{port}/moved/cb", strict)
    envelope, _ = _delivered_request(engine, strict, f"http://callbacks.example.la:{port}/moved/cb")

    with pytest.raises(CallbackRefused):
        _post_callback(engine, strict, envelope)  # raised: the consumer retries it and finally dead-letters it

    assert http_receiver.at("/moved/cb") == []


def test_the_post_goes_to_the_checked_address_not_to_a_second_lookup(strict, engine, http_receiver, fake_dns):
    """DNS rebinding: the name answers public to the check and loopback to any later lookup."""
    answers, asked = fake_dns
    port = http_receiver.url.rsplit(":", 1)[1]
    answers["rebind.example.la"] = ["8.8.4.4", "127.0.0.1"]
    quick = strict.model_copy(update={"callback_timeout_seconds": 1.0})
    envelope, _ = _delivered_request(engine, quick, f"http://rebind.example.la:{port}/rebound/cb")

    with pytest.raises(httpx.HTTPError):  # 8.8.4.4 does not answer on that port (or at all, offline)
        _post_callback(engine, quick, envelope)

    assert asked == ["rebind.example.la"]
    assert http_receiver.at("/rebound/cb") == []


def test_a_listed_internal_receiver_gets_its_callback_in_production(strict, engine, http_receiver):
    listed = strict.model_copy(update={"callback_url_prefixes": [f"{http_receiver.url}/listed/"]})
    envelope, request_uid = _delivered_request(engine, listed, f"{http_receiver.url}/listed/cb")

    _post_callback(engine, listed, envelope)

    assert http_receiver.at("/listed/cb") == [{"requestUID": request_uid, "messageId": envelope.data["message_id"], "status": "delivered"}]
