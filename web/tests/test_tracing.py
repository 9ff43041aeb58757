from opentelemetry.trace import SpanKind

from kernel.testing import wait_until
from .helpers import signed_in_browser


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _server(span, base_url: str, registration_url: str) -> str | None:
    if span.name.startswith("GET /r1/"):
        return "gateway"
    port = span.attributes.get("net.host.port")
    return {_port(base_url): "portal", _port(registration_url): "registration"}.get(port)


def test_a_portal_page_is_one_trace_through_gateway_and_registration(base_url, registration_url, spans):
    browser = signed_in_browser(base_url)
    expected = {"portal", "gateway", "registration"}

    assert browser.get("/services").status_code == 200

    def servers_in_page_trace() -> set:
        finished = spans.get_finished_spans()
        page = next((s for s in finished if s.kind == SpanKind.SERVER and s.name == "GET /services"
                     and s.attributes.get("net.host.port") == _port(base_url)), None)
        if page is None:
            return set()
        return {_server(s, base_url, registration_url) for s in finished
                if s.kind == SpanKind.SERVER and s.context.trace_id == page.context.trace_id}

    # A server's span ends after its last byte is sent, so the callers' spans may be exported first.
    wait_until(lambda: expected <= servers_in_page_trace(), timeout=10, message="the page's trace to hold portal, gateway and registration")
