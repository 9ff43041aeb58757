"""Dependencies shared by the management routes: administrators, with every write attempt in the audit log."""
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gateway.registry import audit
from kernel.auth import Caller, authenticated
from kernel.errors import ApiError

ADMIN_ROLES = ("admin",)


def _record_failure(request: Request, actor: str, reason: str) -> None:
    with Session(request.app.state.engine) as session:
        audit(session, actor=actor, action=f"{request.method} {request.url.path}", outcome="failure", reason=reason)
        session.commit()


def _guard(roles: tuple[str, ...], scopes: tuple[str, ...], *, any_caller: bool = False):
    def guard(request: Request):
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        actor = "anonymous"
        try:
            caller = authenticated(request)
            actor = caller.subject
            if not (any_caller or caller.has_any_role(roles) or caller.has_any_scope(scopes)):
                raise ApiError(403, "forbidden", "The token does not grant this operation.")
        except ApiError as exc:
            if writes:
                _record_failure(request, actor, exc.code)
            raise
        try:
            yield caller
        except ApiError as exc:
            if writes:
                _record_failure(request, actor, exc.code)
            raise
    return guard


def admin_with(*scopes: str):
    """An administrator (role admin) or a caller holding one of the spec's OAuth scopes."""
    return Annotated[Caller, Depends(_guard(ADMIN_ROLES, scopes))]


AdminDep = admin_with()
# Any authenticated caller (a member asking to register something); refusals are audited all the same.
RequesterDep = Annotated[Caller, Depends(_guard((), (), any_caller=True))]
