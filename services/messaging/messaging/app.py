"""create_app: the messaging API wired to its settings (tests pass their own)."""
from fastapi import FastAPI

from kernel.app import build_app
from messaging import audit
from messaging.errors import error_shape
from messaging.fixtures import FIXTURES
from messaging.routes import api_router
from messaging.settings import MessagingSettings


def create_app(settings: MessagingSettings | None = None) -> FastAPI:
    app = build_app(
        settings or MessagingSettings(),
        title="GovStack Messaging BB",
        version="1.0.0",
        api_router=api_router,
        migrations_package="messaging.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
        description="Email (GovStack Messaging API) and SMS (our extension under /send/sms/...) to citizens.",
    )
    audit.install(app)
    return app
