"""All routers of the registration API."""
from fastapi import APIRouter

api_router = APIRouter()
