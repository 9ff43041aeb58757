"""All routers of the portal."""
from fastapi import APIRouter

from web.routes import auth, citizen, home

api_router = APIRouter()
for module in (home, auth, citizen):
    api_router.include_router(module.router)
