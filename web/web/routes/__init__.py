"""All routers of the portal."""
from fastapi import APIRouter

from web.routes import auditor, auth, citizen, consents, designer, home, operator

api_router = APIRouter()
for module in (home, auth, citizen, consents, operator, designer, auditor):
    api_router.include_router(module.router)
api_router.include_router(auth.staff_router)
