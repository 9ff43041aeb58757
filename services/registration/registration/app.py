"""create_app: the registration API wired to its settings (tests pass their own)."""
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.app import build_app
from registration.errors import error_shape
from registration.fixtures import FIXTURES
from registration.routes import api_router
from registration.settings import RegistrationSettings


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    app = build_app(
        settings or RegistrationSettings(),
        title="GovStack Registration BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="registration.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
    http_error = app.exception_handlers[StarletteHTTPException]

    async def method_not_allowed_as_not_found(request: Request, exc: StarletteHTTPException):
        # GovStack's suite sends unencoded '#' in ids, so `POST /tasks/x#y/complete` arrives as `POST /tasks/x`:
        # the path names no resource that takes this method, which clients expect as 404.
        if exc.status_code == 405:
            exc = StarletteHTTPException(404, "Not Found")
        return await http_error(request, exc)

    app.add_exception_handler(StarletteHTTPException, method_not_allowed_as_not_found)
    return app
