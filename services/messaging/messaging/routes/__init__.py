"""All routers of the messaging API: at the root (where the GovStack suite calls) and under the OpenAPI's /v1."""
from fastapi import APIRouter

from messaging.routes import admin, delivery_reports, messages

api_router = APIRouter()
api_router.include_router(messages.router)
api_router.include_router(messages.router, prefix="/v1", include_in_schema=False)
api_router.include_router(admin.router)
api_router.include_router(delivery_reports.router)
