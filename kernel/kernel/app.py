"""The common part of every service's create_app: logging, tracing, database, auth, errors, health, fixtures."""
import logging
import re
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from kernel import health
from kernel.auth import TokenVerifier
from kernel.db import UnitOfWork, for_writing, make_engine, migrate
from kernel.docs import install_docs
from kernel.errors import ApiError, ErrorShape, default_shape, install_error_handlers
from kernel.safejson import refuse_unsafe_body
from kernel.settings import ServiceSettings
from kernel.telemetry import instrument_fastapi, setup_logging, setup_tracing

FixtureLoader = Callable[[UnitOfWork, ServiceSettings], None]
log = logging.getLogger(__name__)
NATIVE_TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False}


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

    # Every route's parsed body is checked for text no service can store (NUL, lone surrogates) before it runs.
    # Traced by OpenTelemetry's FastAPI instrumentation (kernel.telemetry), not FastAPI's own native telemetry: that one
    # stands aside only when it finds the instrumentation in the stack, which a route served ahead of it hides, and then
    # started a span (recording nothing) around every request of identity and consent.
    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan, generate_unique_id_function=_operation_id,
                  dependencies=[Depends(refuse_unsafe_body)], telemetry=NATIVE_TELEMETRY_OFF, docs_url=None, redoc_url=None)
    install_docs(app)  # /docs and /redoc as FastAPI has them, their files served here rather than from a CDN (kernel.docs)
    app.state.settings = settings
    app.state.engine = engine
    app.state.verifier = TokenVerifier(issuers=settings.oidc_issuers, audiences=settings.oidc_audience, jwks_cache_seconds=settings.oidc_jwks_cache_seconds)
    install_error_handlers(app, error_shape)
    app.include_router(health.router)
    app.include_router(api_router)
    instrument_fastapi(app)
    return app


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def _callers_trace_id(request: Request) -> str:
    """The trace id of the caller's `traceparent`: ahead of the stack no span is started, so errors quote the caller's."""
    match = _TRACEPARENT.match(request.headers.get("traceparent", ""))
    return match.group(1) if match else ""


class _RouteAhead:
    """One route answered before the middleware stack; every other request goes through the stack as usual."""

    def __init__(self, stack, *, method: str, path: str, endpoint: Callable, error_shape: ErrorShape):
        self.stack, self.method, self.path, self.endpoint, self.error_shape = stack, method, path, endpoint, error_shape

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != self.method:
            await self.stack(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.endpoint(request)
        except ApiError as exc:
            response = self._error(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
        except Exception:
            log.exception("unexpected error on %s %s", self.method, self.path)
            response = self._error(request, 500, "internal_error", "An unexpected error occurred; quote the trace id when reporting it.")
        await response(scope, receive, send)

    def _error(self, request: Request, status: int, code: str, message: str, details: list[dict] | None = None,
               headers: dict | None = None) -> JSONResponse:
        body = self.error_shape(status, code, message, details or [], _callers_trace_id(request))
        return JSONResponse(body, status_code=status, headers=headers)


def serve_ahead(app: FastAPI, settings: ServiceSettings, *, method: str, path: str, endpoint: Callable,
                error_shape: ErrorShape = default_shape) -> None:
    """Serve one busy route ahead of FastAPI's middleware stack and routing when no traces are exported.

    Profiled, the stack (OpenTelemetry's middleware starting spans that record nothing, then routing through every
    included router) cost about as much CPU as the work of a token grant. With OTEL_EXPORTER_OTLP_ENDPOINT set the route
    goes through the stack and is traced like any other. The endpoint takes a Request and returns a Response: it validates
    its input and bounds its body itself, since no dependency, body limit or middleware runs for it. An ApiError it raises
    is answered in the error shape, as the app's handler would (with the caller's trace id).
    """
    if settings.otel_exporter_otlp_endpoint:
        return
    build_stack = app.build_middleware_stack  # Starlette builds the stack on the first request
    app.build_middleware_stack = lambda: _RouteAhead(build_stack(), method=method, path=path, endpoint=endpoint, error_shape=error_shape)


def load_fixtures(engine, settings: ServiceSettings, fixtures: dict[str, FixtureLoader]) -> None:
    """Load the named data set; loaders are idempotent so a restart does not duplicate it."""
    loader = fixtures.get(settings.fixtures)
    if loader is None:
        return  # a service with no data in this set
    with UnitOfWork(for_writing(engine), source=settings.service_name) as uow:
        loader(uow, settings)
        uow.commit()
