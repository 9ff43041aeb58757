"""The audit trail of API calls (spec 5.1.10): time, caller, operation and outcome; never content or contacts."""
import logging
import time

from fastapi import FastAPI, Request

log = logging.getLogger("messaging.audit")

_AUDITED = ("/send/", "/status/", "/callback/", "/v1/", "/admin/")


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit_api_calls(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        if request.url.path.startswith(_AUDITED):
            route = request.scope.get("route")
            log.info("api call", extra={"fields": {
                "method": request.method,
                "operation": getattr(route, "name", None) or "unmatched",
                "status": response.status_code,
                "api_key_id": getattr(request.state, "api_key_id", None),
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }})
        return response
