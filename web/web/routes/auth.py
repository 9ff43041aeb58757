"""Citizen sign-in and sign-out through the Identity BB (authorization code + PKCE, private_key_jwt)."""
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from kernel.db import UowDep
from web import oidc, sessions
from web.pages import language, render

router = APIRouter(prefix="/auth", tags=["auth"], include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only a local path: an absolute or scheme-relative URL would make this an open redirect.
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value else "/services"


@router.get("/login")
def login(request: Request, uow: UowDep, next: str | None = None):
    settings = request.app.state.settings
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), oidc.new_pkce_verifier()
    response = RedirectResponse(oidc.authorize_url(settings, state=state, nonce=nonce, verifier=verifier, lang=language(request)), status_code=303)
    sessions.start(uow, settings, response, kind="pending", login_state=state, login_nonce=nonce, code_verifier=verifier, return_to=_safe_next(next))
    uow.commit()
    return response


@router.get("/callback")
async def callback(request: Request, uow: UowDep, code: str = "", state: str = ""):
    settings = request.app.state.settings
    pending = sessions.current(request, uow, kind="pending")
    if pending is None or not code or not state or not secrets.compare_digest(state, pending.login_state or ""):
        return render(request, "error.html", status=400, message_key="error_sign_in_failed")
    try:
        tokens = await run_in_threadpool(oidc.exchange_code, request.app.state.http, settings, code=code, verifier=pending.code_verifier,
                                         nonce=pending.login_nonce)
    except oidc.SignInFailed:
        return render(request, "error.html", status=400, message_key="error_sign_in_failed")
    response = RedirectResponse(pending.return_to or "/services", status_code=303)
    uow.session.delete(pending)  # single use: the state and verifier die with it
    # The session ends with the access token: the portal holds no refresh token, so the citizen signs in again.
    lifetime = tokens.get("expires_in") if isinstance(tokens.get("expires_in"), int) else None
    sessions.start(uow, settings, response, lifetime=lifetime, kind="citizen", subject=tokens["id_claims"]["sub"],
                   access_token=tokens["access_token"])
    uow.commit()
    return response


@router.post("/logout")
def logout(request: Request, uow: UowDep):
    response = RedirectResponse("/", status_code=303)
    sessions.end(request, uow, response)
    uow.commit()
    return response
