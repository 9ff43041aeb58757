"""create_app: the portal wired to its settings (tests pass their own)."""
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.app import build_app
from kernel.db import UnitOfWork, for_writing
from kernel.httpclient import new_client
from web import sessions
from web.bb import Unavailable, portal_token_source
from web.errors import error_shape
from web.fixtures import FIXTURES
from web.pages import form_page, render, same_origin_post
from web.routes import api_router
from web.console import console_error
from web.routes.deps import NotPermitted, SignInRequired, sign_in_url
from web.settings import WebSettings


async def _sign_in_again(request: Request) -> RedirectResponse:
    """To the sign-in, then back to the page the user was on (never a POST-only address). A form posted from one of our
    pages is kept across the sign-in, and that page shows it again: the session ended, the user's work did not."""
    page = form_page(request)
    response = RedirectResponse(sign_in_url(page), status_code=303)
    if request.method == "POST" and same_origin_post(request):
        try:
            form = await request.form()
        except Exception:  # an unreadable body holds nothing to keep
            return response
        await run_in_threadpool(_keep_form, request, response, page.partition("?")[0], form)
    return response


def _keep_form(request: Request, response, page: str, form) -> None:
    with UnitOfWork(for_writing(request.app.state.engine), source=request.app.state.settings.service_name) as uow:
        if sessions.keep_form(uow, request.app.state.settings, response, page=page, form=form):
            uow.commit()


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    app = build_app(
        settings,
        title="GovStack citizen portal",
        version="1.0.0",
        api_router=api_router,
        migrations_package="web.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
    app.mount("/static", StaticFiles(packages=[("web", "static")]), name="static")

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired):
        return await _sign_in_again(request)

    @app.exception_handler(NotPermitted)
    async def not_permitted(request: Request, exc: NotPermitted):
        return console_error(request, staff=exc.staff, message_key="not_permitted", status=403)

    @app.exception_handler(Unavailable)
    async def building_block_unavailable(request: Request, exc: Unavailable):
        if exc.status == 401:  # the citizen's access token expired: sign in again, then come back
            return await _sign_in_again(request)
        return render(request, "error.html", status=502, message_key="error_unavailable")

    kernel_http_error = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def page_not_found(request: Request, exc: StarletteHTTPException):
        # An unknown address (or a GET of a form's POST-only address) is a page for people, in their language.
        if exc.status_code in (404, 405):
            return render(request, "error.html", status=exc.status_code, message_key="error_not_found")
        return await kernel_http_error(request, exc)

    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with kernel_lifespan(app):
            # One pooled client for every call to the gateway and the identity provider.
            app.state.http = new_client(timeout=httpx.Timeout(30.0, connect=5.0))
            app.state.portal_token = portal_token_source(settings)
            try:
                yield
            finally:
                app.state.http.close()

    app.router.lifespan_context = lifespan
    return app
