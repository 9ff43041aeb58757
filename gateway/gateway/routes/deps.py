"""Dependencies shared by the management routes: administrators, with every write attempt in the audit log."""
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from gateway.registry import audit
from kernel.auth import Caller, authenticated
from kernel.errors import ApiError

ADMIN_ROLES = ("admin",)
READS = ("GET", "HEAD", "OPTIONS")


def _reason(exc: Exception) -> str:
    """The error code the caller is answered with (kernel.errors); only codes, never the request's values."""
    if isinstance(exc, ApiError):
        return exc.code
    if isinstance(exc, RequestValidationError):
        return "invalid_request"
    if isinstance(exc, DataError):
        return "invalid_value"
    if isinstance(exc, HTTPException):
        return f"http_{exc.status_code}"
    return "internal_error"


def _actor(request: Request) -> str:
    caller = getattr(request.state, "caller", None)  # set by kernel.auth.authenticated
    if caller is None:
        try:
            caller = authenticated(request)
        except Exception:
            return "anonymous"
    return caller.subject


def _record_failure(request: Request, exc: Exception) -> None:
    # The guard and AuditedRoute may both see one failure: the first records it.
    if getattr(request.state, "failure_audited", False):
        return
    request.state.failure_audited = True
    with Session(request.app.state.engine) as session:
        audit(session, actor=_actor(request), action=f"{request.method} {request.url.path}", outcome="failure", reason=_reason(exc))
        session.commit()


def _guard(roles: tuple[str, ...], scopes: tuple[str, ...], *, any_caller: bool = False):
    def guard(request: Request):
        try:
            caller = authenticated(request)
            if not (any_caller or caller.has_any_role(roles) or caller.has_any_scope(scopes)):
                raise ApiError(403, "forbidden", "The token does not grant this operation.")
            # Whatever fails after this (a body the schema refuses, the route's own error, an unexpected one) comes back here.
            yield caller
        except Exception as exc:
            if request.method not in READS:
                _record_failure(request, exc)
            raise
    return guard


class AuditedRoute(APIRoute):
    """A route whose failed writes are audited even when they fail before any dependency runs: FastAPI refuses a body
    that is not JSON before it resolves the guard."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def audited(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                if request.method not in READS:
                    await run_in_threadpool(_record_failure, request, exc)
                raise

        return audited


def admin_with(*scopes: str):
    """An administrator (role admin) or a caller holding one of the spec's OAuth scopes."""
    return Annotated[Caller, Depends(_guard(ADMIN_ROLES, scopes))]


AdminDep = admin_with()
# The audit log is read by administrators and by auditors (role auditor), whose whole task is reading it; never written.
AuditReaderDep = Annotated[Caller, Depends(_guard(ADMIN_ROLES + ("auditor",), ()))]
# Any authenticated caller (a member asking to register something); refusals are audited all the same.
RequesterDep = Annotated[Caller, Depends(_guard((), (), any_caller=True))]
