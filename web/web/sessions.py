"""Server-side sessions: the browser holds a random id in an HttpOnly, SameSite=Lax cookie; everything else stays here."""
import hashlib
import secrets
from datetime import timedelta

from fastapi import Request, Response
from sqlmodel import select

from kernel.db import UnitOfWork
from web.models import WebSession, as_utc, utcnow
from web.settings import WebSettings

COOKIE = "web_session"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(uow: UnitOfWork, settings: WebSettings, response: Response, *, lifetime: int | None = None, **fields) -> WebSession:
    """A new session (a fresh id on every sign-in, so a planted cookie cannot be carried across it)."""
    seconds = min(lifetime or settings.session_seconds, settings.session_seconds)
    cookie = secrets.token_urlsafe(32)
    row = WebSession(cookie_hash=_hash(cookie), expires_at=utcnow() + timedelta(seconds=seconds), **fields)
    uow.session.add(row)
    response.set_cookie(COOKIE, cookie, max_age=seconds, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
    return row


def current(request: Request, uow: UnitOfWork, *, kind: str | None = None) -> WebSession | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > 100:
        return None
    row = uow.session.exec(select(WebSession).where(WebSession.cookie_hash == _hash(cookie))).first()
    if row is None or as_utc(row.expires_at) <= utcnow() or (kind is not None and row.kind != kind):
        return None
    return row


def end(request: Request, uow: UnitOfWork, response: Response) -> None:
    row = current(request, uow)
    if row is not None:
        uow.session.delete(row)
    response.delete_cookie(COOKIE, path="/")
