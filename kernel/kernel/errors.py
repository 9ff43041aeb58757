"""One exception type and the handlers that answer it in each service's GovStack error shape."""
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, details: list[dict] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers


# A service's shape: (status, code, message, details, trace_id) -> JSON body.
ErrorShape = Callable[[int, str, str, list[dict], str], Any]


def default_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"code": code, "message": message, "traceId": trace_id}
    if details:
        body["details"] = details
    return body


def current_trace_id() -> str:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def validation_details(exc: RequestValidationError) -> list[dict]:
    """Each failing field by its dotted path and the reason, without echoing the submitted value."""
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        details.append({"field": ".".join(location) or "body", "reason": error.get("msg", "invalid")})
    return details


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "unprocessable", 429: "too_many_requests"}


def install_error_handlers(app: FastAPI, shape: ErrorShape = default_shape) -> None:
    def respond(status: int, code: str, message: str, details: list[dict] | None = None, headers: dict | None = None):
        return JSONResponse(shape(status, code, message, details or [], current_trace_id()), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return respond(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return respond(exc.status_code, _STATUS_CODES.get(exc.status_code, "error"), str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return respond(400, "invalid_request", "The request is not valid.", validation_details(exc))

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError):
        # SQLSTATE class 22 (NUL byte, value too long, number out of range): the input was bad, not the service.
        log.info("database refused a value on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return respond(400, "invalid_value", "A value in the request cannot be stored (too long, out of range or with forbidden characters).")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return respond(500, "internal_error", "An unexpected error occurred; quote the trace id when reporting it.")
