"""All routers of the identity API."""
from fastapi import APIRouter

from identity.routes import (authorize, clients, enrollment, linked_authorization, persons, staff, token, userinfo, wallet_attestation,
                             wallet_binding, wellknown)

api_router = APIRouter()
# The token endpoint first: FastAPI tries routers in order, and client-credentials grants are the busiest calls.
for module in (token, wellknown, clients, authorize, linked_authorization, userinfo, wallet_binding, wallet_attestation, enrollment, persons, staff):
    api_router.include_router(module.router)
