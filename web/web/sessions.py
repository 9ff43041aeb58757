"""Server-side sessions: the browser holds a random id in an HttpOnly, SameSite=Lax cookie; everything else stays here."""
import hashlib
import secrets
from datetime import timedelta

from fastapi import Request, Response
from sqlmodel import delete, select
from starlette.datastructures import FormData

from kernel.db import UnitOfWork
from web.models import KeptForm, WebSession, as_utc, utcnow
from web.settings import WebSettings

COOKIE = "web_session"
KEPT_COOKIE = "web_kept"
KEPT_SECONDS = 3600  # long enough for a sign-in, short enough not to surprise anyone days later
MAX_KEPT_CHARS = 600_000  # above the designer's largest document (500 000 characters)


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


def keep_form(uow: UnitOfWork, settings: WebSettings, response: Response, *, page: str, form: FormData) -> bool:
    """Keep the form's text fields for `page` (its GET path) under a cookie of their own, so the page can show them again
    after a new sign-in, which replaces the session. False when there is nothing to keep or it is too large."""
    fields: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):  # an uploaded file cannot be kept: the citizen chooses it again
            fields.setdefault(name, []).append(value)
    if not fields or sum(len(name) + sum(map(len, values)) for name, values in fields.items()) > MAX_KEPT_CHARS:
        return False
    uow.session.execute(delete(KeptForm).where(KeptForm.expires_at <= utcnow()))
    cookie = secrets.token_urlsafe(32)
    uow.session.add(KeptForm(cookie_hash=_hash(cookie), page=page[:500], fields=fields,
                             expires_at=utcnow() + timedelta(seconds=KEPT_SECONDS)))
    response.set_cookie(KEPT_COOKIE, cookie, max_age=KEPT_SECONDS, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
    return True


def take_kept_form(request: Request, uow: UnitOfWork, page: str) -> FormData | None:
    """The form kept for this page, once: it is deleted as it is shown (the caller commits). The cookie may stay: it then
    names nothing."""
    cookie = request.cookies.get(KEPT_COOKIE)
    if not cookie or len(cookie) > 100:
        return None
    row = uow.session.exec(select(KeptForm).where(KeptForm.cookie_hash == _hash(cookie))).first()
    if row is None or row.page != page:
        return None
    uow.session.delete(row)
    if as_utc(row.expires_at) <= utcnow():
        return None
    return FormData([(name, value) for name, values in row.fields.items() for value in values])
