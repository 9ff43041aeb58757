"""The consent error body. The OpenAPI gives 400 "bad input parameter" without a schema; we answer in the
shape iGrant.io (the spec's reference product) uses, plus a machine code, field details, the trace id and
`localizedMessage`: the message in the caller's language (Accept-Language `lo` or `en`; English otherwise)."""
from contextvars import ContextVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from consent.error_messages_lo import lao
from consent.field_reasons import localized_reason, validation_details
from kernel.errors import current_trace_id

LANGUAGES = ("en", "lo")
DEFAULT_LANGUAGE = "en"
# The request's Accept-Language header, for the error handlers, which see only (status, code, message, ...).
_accept_language: ContextVar[str] = ContextVar("accept_language", default="")


def preferred_language(accept_language: str) -> str:
    """The supported language the header ranks highest (by q, then by order); English if it names none."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in accept_language.split(","):
        tag, _, params = item.strip().partition(";")
        language = tag.strip().split("-")[0].lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if language in LANGUAGES and q > best_q:
            best, best_q = language, q
    return best


def localized_message(message: str, code: str, status: int, language: str) -> str:
    return lao(message, code, status) if language == "lo" else message


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    language = preferred_language(_accept_language.get())
    body = {"errorCode": status, "errorDescription": message, "error": code, "traceId": trace_id,
            "localizedMessage": localized_message(message, code, status, language)}
    if details:
        body["details"] = [{**detail, "localizedReason": localized_reason(detail["reason"], language)}
                           if "reason" in detail and "localizedReason" not in detail else detail for detail in details]
    return body


def install_validation_handler(app: FastAPI) -> None:
    """In place of the kernel's handler: the same body, with each field's reason in the caller's language too."""

    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc, preferred_language(_accept_language.get()))
        return JSONResponse(error_shape(400, "invalid_request", "The request is not valid.", details, current_trace_id()), status_code=400)

    app.add_exception_handler(RequestValidationError, invalid_request)


class AcceptLanguageMiddleware:
    """Keeps the request's Accept-Language for error_shape (a pure ASGI middleware, cheap on the verification fast path
    too, so it only stores the header; it is parsed when an error is answered). Served ahead of the stack, the fast
    path's endpoint sets it itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            set_accept_language(scope)
        await self.app(scope, receive, send)


def set_accept_language(scope) -> None:
    value = ""
    for name, raw in scope["headers"]:
        if name == b"accept-language":
            value = raw.decode("latin-1")
            break
    _accept_language.set(value)
