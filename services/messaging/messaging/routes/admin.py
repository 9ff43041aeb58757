"""API keys of calling applications, managed by administrators (OIDC bearer token with role admin)."""
import logging
from datetime import datetime, timezone

from fastapi import APIRouter, Response
from sqlmodel import select

from kernel.auth import Caller, require
from kernel.db import UowDep
from kernel.errors import ApiError
from messaging import apikeys
from messaging.models import ApiKey
from messaging.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyQuotasUpdate, ApiKeyRead

router = APIRouter(prefix="/admin/api-keys", tags=["admin"])
Admin = require(roles=("admin",))
audit_log = logging.getLogger("messaging.audit")


def _read(api_key: ApiKey) -> dict:
    return {"id": api_key.id, "name": api_key.name, "emergencyAllowed": api_key.emergency_allowed,
            "messagesPerMinute": api_key.messages_per_minute, "messagesPerDay": api_key.messages_per_day, "createdAt": api_key.created_at, "revokedAt": api_key.revoked_at}


@router.post("", status_code=201)
def create_api_key(key_in: ApiKeyCreate, uow: UowDep, caller: Caller = Admin) -> ApiKeyCreated:
    """The key is in this answer only; afterwards only its hash exists."""
    key = apikeys.generate()
    api_key = ApiKey(name=key_in.name, key_hash=apikeys.hash_key(key), emergency_allowed=key_in.emergencyAllowed,
                     messages_per_minute=key_in.messagesPerMinute, messages_per_day=key_in.messagesPerDay, created_by=caller.subject)
    uow.session.add(api_key)
    uow.commit()
    return ApiKeyCreated(**_read(api_key), apiKey=key)


@router.get("")
def list_api_keys(uow: UowDep, caller: Caller = Admin) -> list[ApiKeyRead]:
    return [ApiKeyRead(**_read(api_key)) for api_key in uow.session.exec(select(ApiKey).order_by(ApiKey.created_at)).all()]


@router.patch("/{api_key_id}/quotas")
def update_api_key_quotas(api_key_id: str, quotas_in: ApiKeyQuotasUpdate, uow: UowDep, caller: Caller = Admin) -> ApiKeyRead:
    """Change a key's quotas; they apply to its next send (a quota counts what the key had accepted in the window)."""
    changes = quotas_in.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(400, "invalid_request", "Give messagesPerMinute and/or messagesPerDay (null: the service-wide quota).")
    api_key = uow.session.get(ApiKey, api_key_id, with_for_update=True)  # serialised with sends checking this key's quota
    if api_key is None:
        raise ApiError(404, "not_found", "No such API key.")
    if api_key.revoked_at is not None:
        raise ApiError(409, "revoked", "This API key is revoked.")
    before = {"messagesPerMinute": api_key.messages_per_minute, "messagesPerDay": api_key.messages_per_day}
    if "messagesPerMinute" in changes:
        api_key.messages_per_minute = changes["messagesPerMinute"]
    if "messagesPerDay" in changes:
        api_key.messages_per_day = changes["messagesPerDay"]
    uow.commit()
    # Who changed which key's limits, from what to what (ids and numbers only).
    audit_log.info("api key quotas updated", extra={"fields": {"api_key_id": api_key.id, "by": caller.subject, "before": before,
                                                               "after": {key: changes.get(key, value) for key, value in before.items()}}})
    return ApiKeyRead(**_read(api_key))


@router.delete("/{api_key_id}", status_code=204)
def revoke_api_key(api_key_id: str, uow: UowDep, caller: Caller = Admin) -> Response:
    api_key = uow.session.get(ApiKey, api_key_id)
    if api_key is None:
        raise ApiError(404, "not_found", "No such API key.")
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(timezone.utc)
        uow.commit()
    return Response(status_code=204)
