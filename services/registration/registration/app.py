"""create_app: the registration API wired to its settings (tests pass their own)."""
import threading
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from kernel.app import build_app
from registration import uploads
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
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with kernel_lifespan(app) as state:  # migrations and fixtures first
            # The upload purge runs beside the API, not in the consumer: documents uploaded before their bytes moved
            # into the database have their files on the API's own disk, which the purge moves into it.
            settings = app.state.settings
            stop = threading.Event()
            purger = threading.Thread(target=uploads.run, args=(settings, app.state.engine, stop), daemon=True,
                                      kwargs={"orphan_age": timedelta(hours=settings.upload_orphan_hours),
                                              "interval_seconds": settings.upload_purge_interval_seconds})
            purger.start()
            yield state
            stop.set()
            purger.join(timeout=30)

    app.router.lifespan_context = lifespan
    return app
