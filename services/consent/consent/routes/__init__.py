"""All routers of the consent API."""
from fastapi import APIRouter

from consent.routes import agreements, audit, individuals, policies, records, verification, webhooks

api_router = APIRouter()
for module in (policies, agreements, individuals, webhooks, records, verification, audit):
    api_router.include_router(module.router)
