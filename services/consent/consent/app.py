"""create_app: the consent API wired to its settings (tests pass their own)."""
from fastapi import FastAPI

from kernel.app import build_app
from consent.errors import error_shape
from consent.fixtures import FIXTURES
from consent.routes import api_router
from consent.settings import ConsentSettings


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    return build_app(
        settings or ConsentSettings(),
        title="GovStack Consent BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="consent.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
