"""serve_ahead: one busy route answered before the middleware stack, only while no traces are exported."""
import json
import urllib.error
import urllib.request
from types import SimpleNamespace

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kernel.app import serve_ahead
from kernel.errors import ApiError
from kernel.settings import ServiceSettings
from kernel.testing import serve


def _app(settings: ServiceSettings) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def mark(request: Request, call_next):  # stands for the stack: telemetry, body limits, exception handlers
        response = await call_next(request)
        response.headers["x-through-stack"] = "yes"
        return response

    async def hot(request: Request):
        if request.query_params.get("fail"):
            raise RuntimeError("boom")
        if request.query_params.get("refuse"):
            raise ApiError(403, "forbidden", "Not for you.", details=[{"field": "x", "reason": "no"}], headers={"X-Why": "role"})
        return JSONResponse({"hot": True, "service": request.app.state.name})

    app.state.name = settings.service_name
    app.add_api_route("/hot", hot, methods=["POST"])
    app.add_api_route("/other", lambda: {"other": True}, methods=["GET"])
    serve_ahead(app, settings, method="POST", path="/hot", endpoint=hot)
    return app


def test_route_is_answered_ahead_of_the_stack_and_others_are_not():
    with serve(_app(ServiceSettings(service_name="ahead"))) as url:
        hot = httpx.post(f"{url}/hot")
        other = httpx.get(f"{url}/other")

    assert hot.json() == {"hot": True, "service": "ahead"} and "x-through-stack" not in hot.headers
    assert other.json() == {"other": True} and other.headers["x-through-stack"] == "yes"


def test_unexpected_error_ahead_of_the_stack_answers_500_in_the_error_shape():
    with serve(_app(ServiceSettings(service_name="ahead"))) as url:
        response = httpx.post(f"{url}/hot?fail=1")

    assert response.status_code == 500 and response.json()["code"] == "internal_error"


def test_api_error_ahead_of_the_stack_answers_in_the_error_shape_with_the_callers_trace_id():
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with serve(_app(ServiceSettings(service_name="ahead"))) as url:
        traced = _post_untraced(f"{url}/hot?refuse=1", traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")
        untraced = _post_untraced(f"{url}/hot?refuse=1", traceparent="not-a-traceparent")

    assert traced.status == 403 and traced.headers["x-why"] == "role" and "x-through-stack" not in traced.headers
    assert json.loads(traced.body) == {"code": "forbidden", "message": "Not for you.", "traceId": trace_id,
                                       "details": [{"field": "x", "reason": "no"}]}
    assert json.loads(untraced.body)["traceId"] == ""


def _post_untraced(url: str, *, traceparent: str):
    """urllib, not httpx: once a test in this process has instrumented httpx, it sends a traceparent of its own."""
    request = urllib.request.Request(url, method="POST", data=b"", headers={"traceparent": traceparent})
    try:
        with urllib.request.urlopen(request) as response:
            return SimpleNamespace(status=response.status, headers=response.headers, body=response.read())
    except urllib.error.HTTPError as error:
        return SimpleNamespace(status=error.code, headers=error.headers, body=error.read())


def test_route_goes_through_the_stack_when_traces_are_exported():
    with serve(_app(ServiceSettings(service_name="traced", otel_exporter_otlp_endpoint="http://127.0.0.1:9"))) as url:
        hot = httpx.post(f"{url}/hot")

    assert hot.json()["hot"] is True and hot.headers["x-through-stack"] == "yes"
