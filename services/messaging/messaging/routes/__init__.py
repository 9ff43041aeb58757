"""All routers of the messaging API."""
from fastapi import APIRouter

api_router = APIRouter()
