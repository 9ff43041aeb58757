"""All routers of the identity API."""
from fastapi import APIRouter

api_router = APIRouter()
