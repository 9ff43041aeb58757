"""create_app: the identity API wired to its settings (tests pass their own)."""
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kernel.app import build_app
from kernel.db import UnitOfWork
from identity import keys
from identity.errors import error_shape
from identity.fixtures import FIXTURES
from identity.routes import api_router
from identity.settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    app = build_app(
        settings,
        title="GovStack Identity BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="identity.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with started(app) as state:  # migrations and fixtures first
            with UnitOfWork(app.state.engine, source=settings.service_name) as uow:
                keys.ensure_current(uow.session, settings)  # first start: generate; overdue: rotate
                uow.commit()
            yield state

    app.router.lifespan_context = lifespan
    return app
