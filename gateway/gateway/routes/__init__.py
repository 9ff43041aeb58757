"""All routers of the gateway API."""
from fastapi import APIRouter

api_router = APIRouter()
