"""All routers of the registration API."""
from fastapi import APIRouter

from registration.routes import (applications, audit, catalogue, certificates, contacts, designer, documents, messages, registry, services,
                                 statistics, tasks)

api_router = APIRouter()
for module in (services, applications, contacts, documents, tasks, statistics, designer, registry, catalogue, messages, audit, certificates):
    api_router.include_router(module.router)
