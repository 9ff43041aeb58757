"""All routers of the identity API."""
from fastapi import APIRouter

from identity.routes import (authorize, clients, enrollment, linked_authorization, persons, staff, token, userinfo, wallet_binding,
                             wellknown)

api_router = APIRouter()
for module in (wellknown, clients, authorize, linked_authorization, token, userinfo, wallet_binding, enrollment, persons, staff):
    api_router.include_router(module.router)
