"""create_app: the gateway API wired to its settings (tests pass their own)."""
from fastapi import FastAPI

from kernel.app import build_app
from gateway.errors import error_shape
from gateway.fixtures import FIXTURES
from gateway.routes import api_router
from gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    return build_app(
        settings or GatewaySettings(),
        title="GovStack Information Mediator gateway",
        version="1.0.0",
        api_router=api_router,
        migrations_package="gateway.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
