"""All routers of the consent API."""
from fastapi import APIRouter

from consent.routes import agreements, audit, individuals, policies, records, verification, webhooks

api_router = APIRouter()
# Verification first: routes are matched in order, and it is the hot path (the gateway calls it on every data request).
for module in (verification, policies, agreements, individuals, webhooks, records, audit):
    api_router.include_router(module.router)
