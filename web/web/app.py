"""create_app: the portal wired to its settings (tests pass their own)."""
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from kernel.app import build_app
from kernel.httpclient import new_client
from web.bb import Unavailable, portal_token_source
from web.errors import error_shape
from web.fixtures import FIXTURES
from web.pages import render
from web.routes import api_router
from web.console import console_error
from web.routes.deps import NotPermitted, SignInRequired, sign_in_url
from web.settings import WebSettings


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
        return RedirectResponse(sign_in_url(exc.next_path), status_code=303)

    @app.exception_handler(NotPermitted)
    async def not_permitted(request: Request, exc: NotPermitted):
        return console_error(request, staff=exc.staff, message_key="not_permitted", status=403)

    @app.exception_handler(Unavailable)
    async def building_block_unavailable(request: Request, exc: Unavailable):
        if exc.status == 401:  # the citizen's access token expired: sign in again, then come back
            return RedirectResponse(sign_in_url(request.url.path), status_code=303)
        return render(request, "error.html", status=502, message_key="error_unavailable")

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
