"""All routers of the gateway; the directory comes before routing so its /r1 paths win."""
from fastapi import APIRouter

from gateway.routes import directory, management, monitoring, pages, proxy, registrations

api_router = APIRouter()
api_router.include_router(directory.router)
api_router.include_router(registrations.router)
api_router.include_router(management.router)
api_router.include_router(monitoring.router)
api_router.include_router(pages.router)
api_router.routes.extend(proxy.routes)
