"""create_app: the registration API wired to its settings (tests pass their own)."""
from fastapi import FastAPI

from kernel.app import build_app
from registration.errors import error_shape
from registration.fixtures import FIXTURES
from registration.routes import api_router
from registration.settings import RegistrationSettings


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    return build_app(
        settings or RegistrationSettings(),
        title="GovStack Registration BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="registration.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
