"""All routers of the consent API."""
from fastapi import APIRouter

api_router = APIRouter()
