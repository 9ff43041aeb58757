"""The verification call served in front of the middleware stack, when no span is ever recorded.

Profiled in-process, the OpenTelemetry ASGI middleware took most of a verification call's time even with nothing
recorded (three spans started, request and response attributes collected, headers decoded). Without an exporter the
kernel samples nothing (telemetry.setup_tracing), so those spans go nowhere, and the gateway's hot path skips the stack;
errors still answer in the consent error shape, with the caller's trace id when it sent a `traceparent`. With
OTEL_EXPORTER_OTLP_ENDPOINT set (or any provider that may record), the call goes through the full stack and is traced.
"""
import logging
import re

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from starlette.requests import Request
from starlette.responses import JSONResponse

from consent.errors import error_shape, set_accept_language
from kernel.errors import ApiError

log = logging.getLogger(__name__)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def _trace_id(request: Request) -> str:
    match = _TRACEPARENT.match(request.headers.get("traceparent", ""))
    return match.group(1) if match else ""


class VerificationFastPath:
    def __init__(self, app, *, path: str, endpoint):
        self.app, self.path, self.endpoint = app, path, endpoint

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        set_accept_language(scope)
        try:
            response = await self.endpoint(request)
        except ApiError as exc:
            response = JSONResponse(error_shape(exc.status, exc.code, exc.message, exc.details, _trace_id(request)),
                                    status_code=exc.status, headers=exc.headers)
        except Exception:
            log.exception("unexpected error on the verification fast path")
            response = JSONResponse(error_shape(500, "internal_error", "An unexpected error occurred; quote the trace id when reporting it.",
                                                [], _trace_id(request)), status_code=500)
        await response(scope, receive, send)


def spans_are_never_recorded() -> bool:
    return getattr(trace.get_tracer_provider(), "sampler", None) is ALWAYS_OFF


def install(app, *, path: str, endpoint) -> None:
    """Put the fast path in front of the app's middleware stack (built on the first request, as Starlette does), if
    spans are never recorded in this process."""
    build_stack = app.build_middleware_stack

    def build():
        stack = build_stack()
        return VerificationFastPath(stack, path=path, endpoint=endpoint) if spans_are_never_recorded() else stack

    app.build_middleware_stack = build
