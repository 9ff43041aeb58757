"""The common part of every service's create_app: logging, tracing, database, auth, errors, health, fixtures."""
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from kernel import health
from kernel.auth import TokenVerifier
from kernel.db import UnitOfWork, make_engine, migrate
from kernel.errors import ErrorShape, default_shape, install_error_handlers
from kernel.settings import ServiceSettings
from kernel.telemetry import instrument_fastapi, setup_logging, setup_tracing

FixtureLoader = Callable[[UnitOfWork, ServiceSettings], None]


def _operation_id(route: APIRoute) -> str:
    return route.name  # stable ids for generated clients


def build_app(settings: ServiceSettings, *, title: str, version: str, api_router: APIRouter, migrations_package: str,
              error_shape: ErrorShape = default_shape, fixtures: dict[str, FixtureLoader] | None = None,
              description: str = "") -> FastAPI:
    setup_logging(settings.service_name, settings.log_level, settings.log_format)
    setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        migrate(engine, migrations_package)
        if settings.fixtures:
            load_fixtures(engine, settings, fixtures or {})
        yield
        app.state.verifier.http.close()
        engine.dispose()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan, generate_unique_id_function=_operation_id)
    app.state.settings = settings
    app.state.engine = engine
    app.state.verifier = TokenVerifier(issuers=settings.oidc_issuers, audiences=settings.oidc_audience, jwks_cache_seconds=settings.oidc_jwks_cache_seconds)
    install_error_handlers(app, error_shape)
    app.include_router(health.router)
    app.include_router(api_router)
    instrument_fastapi(app)
    return app


def load_fixtures(engine, settings: ServiceSettings, fixtures: dict[str, FixtureLoader]) -> None:
    """Load the named data set; loaders are idempotent so a restart does not duplicate it."""
    loader = fixtures.get(settings.fixtures)
    if loader is None:
        return  # a service with no data in this set
    with UnitOfWork(engine, source=settings.service_name) as uow:
        loader(uow, settings)
        uow.commit()
