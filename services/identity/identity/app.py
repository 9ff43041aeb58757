"""create_app: the identity API wired to its settings (tests pass their own)."""
from fastapi import FastAPI

from kernel.app import build_app
from identity.errors import error_shape
from identity.fixtures import FIXTURES
from identity.routes import api_router
from identity.settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    return build_app(
        settings or IdentitySettings(),
        title="GovStack Identity BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="identity.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
