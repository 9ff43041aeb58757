"""All routers of the identity API."""
from fastapi import APIRouter

from identity.routes import authorize, clients, enrollment, persons, staff, token, userinfo, wellknown

api_router = APIRouter()
for module in (wellknown, clients, authorize, token, userinfo, enrollment, persons, staff):
    api_router.include_router(module.router)
