"""API keys of calling applications: generated with high entropy, stored as sha256, checked per request."""
import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import select

from kernel.db import UowDep
from kernel.errors import ApiError
from messaging.models import ApiKey


def generate() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # A 256-bit random key needs no slow hash: sha256 cannot be brute-forced at that entropy.
    return hashlib.sha256(key.encode()).hexdigest()


def invalid_input(message: str, reason: str | None = None) -> ApiError:
    """The spec answers every failure with 405 "Invalid input"."""
    return ApiError(405, "invalid_input", message, details=[{"field": "body", "reason": reason}] if reason else None)


def header(request: Request, *names: str) -> str | None:
    # The suite sends api_key and requestUID, the OpenAPI names apiKey and requestUid; header names ignore case.
    for name in names:
        value = request.headers.get(name)
        if value and value.strip():
            return value.strip()
    return None


def calling_application(request: Request, uow: UowDep) -> ApiKey:
    key = header(request, "api_key", "apiKey", "api-key")
    if key is None:
        raise invalid_input("The api_key header is required.")
    api_key = uow.session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))).first()
    if api_key is None:
        raise invalid_input("The api_key is not known.")
    request.state.api_key_id = api_key.id
    return api_key


CallingApplication = Annotated[ApiKey, Depends(calling_application)]
