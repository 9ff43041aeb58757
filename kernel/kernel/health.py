"""Liveness and readiness: ready means the database answers and the broker accepts a connection."""
import time

import pika
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(prefix="/health", tags=["health"])

_BROKER_CHECK_SECONDS = 5.0  # probes come often; a fresh AMQP handshake each time would be wasteful


@router.get("/live")
def live() -> dict:
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request):
    checks = {"database": _database_ok(request.app.state.engine), "broker": _broker_ok(request.app.state)}
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks}, status_code=status)


def _database_ok(engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _broker_ok(state) -> bool:
    checked_at, ok = getattr(state, "broker_check", (0.0, False))
    if time.monotonic() - checked_at < _BROKER_CHECK_SECONDS:
        return ok
    try:
        params = pika.URLParameters(state.settings.amqp_url)
        params.socket_timeout = params.blocked_connection_timeout = 2
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()
        ok = True
    except Exception:
        ok = False
    state.broker_check = (time.monotonic(), ok)
    return ok
