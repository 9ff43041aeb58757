"""create_app: the consent API wired to its settings (tests pass their own)."""
import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session
from starlette.routing import Route

from kernel.app import build_app, serve_ahead
from kernel.db import make_autocommit_engine
from consent import revisions, seal, verification_index
from consent.citizen_tokens import CitizenTokenVerifier
from consent.errors import AcceptLanguageMiddleware, error_shape, install_validation_handler
from consent.fixtures import FIXTURES
from consent.routes import api_router
from consent.routes.verification import VerifiedTokens, verify_consent
from consent.settings import ConsentSettings

VERIFICATION_PATH = "/service/verification/consent-record/"


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    settings = settings or ConsentSettings()
    seal.use_key_secret(settings.audit_key_secret)
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
    install_validation_handler(app)
    app.state.verifier = CitizenTokenVerifier(app.state.verifier, citizen_clients=settings.citizen_clients,
                                              own_audiences=settings.oidc_audience)
    app.state.read_engine = make_autocommit_engine(settings, app.state.engine, pool_size=settings.read_pool_size)
    app.state.verified_tokens = VerifiedTokens(seconds=settings.verified_token_seconds)
    app.state.verification_index = index = verification_index.VerificationIndex(ttl_seconds=settings.verification_cache_seconds)
    verification_index.register(app.state.engine, index)
    # The gateway's hot path, served before FastAPI's routing and dependency machinery (and, when no traces are
    # exported, before the middleware stack too); the FastAPI route of the same path stays for the OpenAPI document.
    app.router.routes.insert(0, Route(VERIFICATION_PATH, verify_consent, methods=["GET"]))
    serve_ahead(app, settings, method="GET", path=VERIFICATION_PATH, endpoint=verify_consent, error_shape=error_shape)
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with kernel_lifespan(app) as state:
            with Session(app.state.engine) as session:
                # The audit key exists before the first request (older revisions are sealed only by `consent.audit seal-legacy`).
                revisions.audit_key(session)
                session.commit()
            listener = None
            if settings.is_postgres:
                listener = verification_index.Listener(app.state.engine, index)
                listener.start()
            elif settings.api_workers == 1:
                # SQLite: this one API process is the only writer of records and agreements, and its own commits drop
                # the answers they change (verification_index._drop_changed_answers), so no notifications are needed.
                index.set_enabled(True)
            # Everything loaded at start-up (modules, routes, settings) is never garbage: keep it out of the collector's
            # scans, so its pauses stay short under load.
            gc.freeze()
            yield state
            if listener is not None:
                listener.close()
        app.state.read_engine.dispose()

    app.router.lifespan_context = lifespan
    return app
