"""All routers of the registration API."""
from fastapi import APIRouter

from registration.routes import applications, contacts, designer, documents, registry, services, statistics, tasks

api_router = APIRouter()
for module in (services, applications, contacts, documents, tasks, statistics, designer, registry):
    api_router.include_router(module.router)
