"""Every page of the web portal refuses a browser without the right session: no session or an expired one is sent to
sign-in, a citizen's session never opens a staff console, a staff session never acts as a citizen.

Generated from the app's routes, so new pages are covered as they are added; pages that need no session are an explicit,
reviewed list. No building block runs here: each refusal must happen before the portal calls one."""
import re
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts

from kernel.db import UnitOfWork, make_engine
from kernel.testing import free_port, serve
from web import sessions
from web.app import create_app
from web.models import WebSession, utcnow
from web.settings import WebSettings

# Reviewed: each of these needs no session, and says why.
PUBLIC = {
    ("GET", "/"),  # the landing page: what the portal offers, sign-in links
    ("GET", "/auth/login"),  # starts citizen sign-in at the Identity BB
    ("GET", "/staff/sign-in"),  # starts staff sign-in
    ("GET", "/auth/callback"),  # the Identity BB's redirect back; bound to the pending sign-in's state and PKCE verifier
    ("POST", "/auth/logout"),  # ends whatever session the cookie names, if any
    ("GET", "/health/live"), ("GET", "/health/ready"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),  # no console is in it
}
STAFF_PREFIXES = ("/operator", "/designer", "/audit")  # reviewed: the consoles; everything else needing a session is a citizen's
AUDIT_PREFIX = "/audit"  # needs the auditor (or admin) role on top of a staff session
DESIGNER_PREFIX = "/designer"  # needs the designer (or admin) role on top of a staff session
CITIZEN_SIGN_IN = "/auth/login?next="
STAFF_SIGN_IN = "/staff/sign-in?next="


def pages(app) -> list[tuple[str, str]]:
    return sorted((method, context.path) for context in iter_route_contexts(app.routes)
                  for method in (context.methods or ()) if method in {"GET", "POST", "PUT", "PATCH", "DELETE"})


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


def is_staff(path: str) -> bool:
    return path.startswith(STAFF_PREFIXES)


@pytest.fixture(scope="module")
def portal(infrastructure):
    nowhere = f"http://127.0.0.1:{free_port()}"  # no building block answers: a refused page must not need one
    settings = WebSettings(database_url=infrastructure.new_database("web_matrix"), amqp_url=infrastructure.new_vhost("web_matrix"),
                           identity_url=nowhere, gateway_url=nowhere, environment="test")
    app = create_app(settings)
    with serve(app) as url:
        yield app, url, settings


def session_cookie(settings: WebSettings, *, kind: str, roles: str = "", expired: bool = False) -> dict:
    """A session made by the portal's own session code, as sign-in would leave it."""
    response = Response()
    engine = make_engine(settings)
    with UnitOfWork(engine, source="test") as uow:
        row: WebSession = sessions.start(uow, settings, response, kind=kind, subject=f"{kind}-{uuid.uuid4().hex[:8]}",
                                         roles=roles, access_token="not-used-by-a-refusal")
        if expired:
            row.expires_at = utcnow() - timedelta(seconds=1)
        uow.commit()
    engine.dispose()
    cookie = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    return {sessions.COOKIE: cookie}


def request(url: str, method: str, path: str, cookies: dict | None = None) -> httpx.Response:
    with httpx.Client(base_url=url, cookies=cookies or {}, follow_redirects=False, timeout=10) as browser:
        data = {"x": "y"} if method in {"POST", "PUT", "PATCH"} else None
        return browser.request(method, concrete(path), data=data)


def sent_to(response: httpx.Response, sign_in: str) -> bool:
    return response.status_code == 303 and response.headers.get("location", "").startswith(sign_in)


def test_public_list_names_only_real_pages(portal):
    app, _, _ = portal

    assert PUBLIC - set(pages(app)) == set()


def test_every_page_without_a_session_sends_the_browser_to_sign_in(portal):
    app, url, settings = portal
    expired_citizen = session_cookie(settings, kind="citizen", expired=True)
    expired_staff = session_cookie(settings, kind="staff", roles="designer operator", expired=True)
    failures = []
    for method, path in pages(app):
        if (method, path) in PUBLIC:
            continue
        sign_in = STAFF_SIGN_IN if is_staff(path) else CITIZEN_SIGN_IN
        for label, cookies in {"no session": None, "expired citizen session": expired_citizen,
                               "expired staff session": expired_staff, "unknown cookie": {sessions.COOKIE: "forged"}}.items():
            response = request(url, method, path, cookies)
            if not sent_to(response, sign_in):
                failures.append(f"{method} {path} with {label}: {response.status_code} {response.headers.get('location')}")

    assert not failures, "\n".join(failures)


def test_a_citizen_session_never_opens_a_staff_console(portal):
    app, url, settings = portal
    citizen = session_cookie(settings, kind="citizen")
    failures = []
    for method, path in pages(app):
        if not is_staff(path):
            continue
        response = request(url, method, path, citizen)
        # A citizen is not signed in as staff: the portal asks for staff sign-in (or refuses outright), never serves.
        if not (sent_to(response, STAFF_SIGN_IN) or response.status_code == 403):
            failures.append(f"{method} {path}: {response.status_code}")

    assert failures == [], "\n".join(failures)


def test_a_staff_session_never_acts_as_a_citizen(portal):
    app, url, settings = portal
    staff = session_cookie(settings, kind="staff", roles="admin designer operator")
    failures = []
    for method, path in pages(app):
        if (method, path) in PUBLIC or is_staff(path):
            continue
        response = request(url, method, path, staff)
        if not sent_to(response, CITIZEN_SIGN_IN):
            failures.append(f"{method} {path}: {response.status_code}")

    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("prefix, roles", [
    (DESIGNER_PREFIX, "operator enterprise_reviewer"),  # no designer (or admin) role
    (AUDIT_PREFIX, "operator designer enterprise_reviewer"),  # no auditor (or admin) role
], ids=["designer pages", "audit pages"])
def test_staff_without_the_console_role_are_refused_every_page_of_it(portal, prefix, roles):
    app, url, settings = portal
    staff = session_cookie(settings, kind="staff", roles=roles)
    failures = []
    for method, path in pages(app):
        if not path.startswith(prefix):
            continue
        response = request(url, method, path, staff)
        if response.status_code != 403:
            failures.append(f"{method} {path}: {response.status_code}")

    assert failures == [], "\n".join(failures)
