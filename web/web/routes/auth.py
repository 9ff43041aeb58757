"""Sign-in and sign-out through the Identity BB (authorization code + PKCE, private_key_jwt): citizens, and staff for the consoles."""
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from kernel.db import UowDep
from web import oidc, sessions
from web.console import console_error
from web.pages import language, render

router = APIRouter(prefix="/auth", tags=["auth"], include_in_schema=False)
staff_router = APIRouter(prefix="/staff", tags=["auth"], include_in_schema=False)
PENDING_STAFF = "pending_staff"  # a staff sign-in under way: the callback then opens a staff session


def _safe_next(value: str | None, default: str = "/services") -> str:
    # Only a local path: an absolute or scheme-relative URL would make this an open redirect.
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value else default


def _start_sign_in(request: Request, uow, *, kind: str, provider: oidc.Provider, return_to: str) -> RedirectResponse:
    settings = request.app.state.settings
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), oidc.new_pkce_verifier()
    response = RedirectResponse(oidc.authorize_url(settings, state=state, nonce=nonce, verifier=verifier, lang=language(request), provider=provider),
                                status_code=303)
    sessions.start(uow, settings, response, kind=kind, login_state=state, login_nonce=nonce, code_verifier=verifier, return_to=return_to)
    uow.commit()
    return response


@router.get("/login")
def login(request: Request, uow: UowDep, next: str | None = None):
    return _start_sign_in(request, uow, kind="pending", provider=oidc.citizen_provider(request.app.state.settings), return_to=_safe_next(next))


@staff_router.get("/sign-in")
def staff_sign_in(request: Request, uow: UowDep, next: str | None = None):
    """Staff sign in with the same OIDC client as citizens, so the gateway accepts their tokens from the portal application."""
    try:
        provider = oidc.staff_provider(request.app.state.http, request.app.state.settings)
    except oidc.SignInFailed:
        return render(request, "error.html", status=502, message_key="error_unavailable")
    return _start_sign_in(request, uow, kind=PENDING_STAFF, provider=provider, return_to=_safe_next(next, "/operator"))


def staff_roles(claims: dict) -> list[str]:
    """Roles from the ID token: the Identity BB's `roles`, or Keycloak's realm roles."""
    roles = claims.get("roles") or (claims.get("realm_access") or {}).get("roles") or []
    return [role for role in roles if isinstance(role, str)] if isinstance(roles, list) else []


def _exchange(http, settings, *, staff: bool, code: str, verifier: str, nonce: str) -> dict:
    provider = oidc.staff_provider(http, settings) if staff else oidc.citizen_provider(settings)
    return oidc.exchange_code(http, settings, code=code, verifier=verifier, nonce=nonce, provider=provider)


@router.get("/callback")
async def callback(request: Request, uow: UowDep, code: str = "", state: str = ""):
    settings = request.app.state.settings
    pending = sessions.current(request, uow)
    if pending is None or pending.kind not in ("pending", PENDING_STAFF) or not code or not state or not secrets.compare_digest(state, pending.login_state or ""):
        return render(request, "error.html", status=400, message_key="error_sign_in_failed")
    staff = pending.kind == PENDING_STAFF
    try:
        tokens = await run_in_threadpool(_exchange, request.app.state.http, settings, staff=staff, code=code, verifier=pending.code_verifier,
                                         nonce=pending.login_nonce)
    except oidc.SignInFailed:
        return render(request, "error.html", status=400, message_key="error_sign_in_failed")
    claims = tokens["id_claims"]
    if staff and not staff_roles(claims):
        # A citizen's sign-in (no roles) cannot open the consoles.
        uow.session.delete(pending)
        uow.commit()
        return console_error(request, staff=None, message_key="not_staff", status=403)
    response = RedirectResponse(pending.return_to or "/services", status_code=303)
    uow.session.delete(pending)  # single use: the state and verifier die with it
    # The session ends with the access token: the portal holds no refresh token, so the user signs in again.
    lifetime = tokens.get("expires_in") if isinstance(tokens.get("expires_in"), int) else None
    if staff:
        sessions.start(uow, settings, response, lifetime=lifetime, kind="staff", subject=claims["sub"], access_token=tokens["access_token"],
                       display_name=str(claims.get("preferred_username") or "")[:300], roles=" ".join(staff_roles(claims))[:1000])
    else:
        sessions.start(uow, settings, response, lifetime=lifetime, kind="citizen", subject=claims["sub"], access_token=tokens["access_token"])
    uow.commit()
    return response


@router.post("/logout")
def logout(request: Request, uow: UowDep):
    response = RedirectResponse("/", status_code=303)
    sessions.end(request, uow, response)
    uow.commit()
    return response
