"""create_app: the identity API wired to its settings (tests pass their own)."""
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kernel.app import build_app, serve_ahead
from kernel.db import UnitOfWork, make_autocommit_engine
from identity import keys
from identity.errors import error_shape
from identity.fixtures import FIXTURES
from identity.routes import api_router
from identity.routes.token import post_token
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
    # Service-to-service token grants are the busiest calls (benchmarks/bench_token_grants.py): a lean path for them.
    app.state.autocommit_engine = make_autocommit_engine(settings, app.state.engine)
    serve_ahead(app, settings, method="POST", path="/oauth/token", endpoint=post_token, error_shape=error_shape)
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with started(app) as state:  # migrations and fixtures first
            with UnitOfWork(app.state.engine, source=settings.service_name) as uow:
                keys.ensure_current(uow.session, settings)  # first start: generate; overdue: rotate
                uow.commit()
            yield state
        if app.state.autocommit_engine is not app.state.engine:
            app.state.autocommit_engine.dispose()

    app.router.lifespan_context = lifespan
    return app
