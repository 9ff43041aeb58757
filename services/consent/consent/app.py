"""create_app: the consent API wired to its settings (tests pass their own)."""
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kernel.app import build_app
from consent.errors import AcceptLanguageMiddleware, error_shape
from consent.fixtures import FIXTURES
from consent.read_engine import make_read_engine
from consent.routes import api_router
from consent.settings import ConsentSettings


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    settings = settings or ConsentSettings()
    app = build_app(
        settings,
        title="GovStack Consent BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="consent.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
    app.add_middleware(AcceptLanguageMiddleware)
    app.state.read_engine = make_read_engine(settings, app.state.engine)
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with kernel_lifespan(app) as state:
            yield state
        app.state.read_engine.dispose()

    app.router.lifespan_context = lifespan
    return app
