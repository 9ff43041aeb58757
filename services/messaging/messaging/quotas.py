"""Quotas per calling application (spec 5.1.12/14): messages accepted per rolling minute and per rolling day."""
import math
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from kernel.db import UnitOfWork
from kernel.errors import ApiError
from messaging.models import ApiKey, SendRequest
from messaging.settings import MessagingSettings

WINDOWS = (("minute", timedelta(minutes=1)), ("day", timedelta(days=1)))


def limits_of(api_key: ApiKey, settings: MessagingSettings) -> dict[str, int]:
    """The key's own limits where set, the service-wide ones otherwise; 0 means unlimited."""
    per_minute = api_key.messages_per_minute if api_key.messages_per_minute is not None else settings.quota_messages_per_minute
    per_day = api_key.messages_per_day if api_key.messages_per_day is not None else settings.quota_messages_per_day
    return {name: limit for name, limit in (("minute", per_minute), ("day", per_day)) if limit > 0}


def check_or_raise(uow: UnitOfWork, *, settings: MessagingSettings, api_key: ApiKey, count: int, now: datetime) -> None:
    """Raise 429 if accepting `count` more messages would exceed one of the key's quotas."""
    limits = limits_of(api_key, settings)
    if not limits:
        return
    if uow.session.get_bind().dialect.name == "postgresql":
        # Concurrent sends of one key queue here, so two requests cannot both take the last of the quota.
        uow.session.exec(select(ApiKey.id).where(ApiKey.id == api_key.id).with_for_update()).one()
    for name, window in WINDOWS:
        if name not in limits:
            continue
        used, oldest = uow.session.exec(
            select(func.coalesce(func.sum(SendRequest.message_count), 0), func.min(SendRequest.created_at))
            .where(SendRequest.caller == api_key.id, SendRequest.created_at > now - window)).one()
        if used + count > limits[name]:
            retry_after = max(1, math.ceil(((oldest + window - now) if oldest else window).total_seconds()))
            raise ApiError(429, "quota_exceeded",
                           f"This api_key may send {limits[name]} messages per {name}; {used} were accepted in the last {name} "
                           f"and this request has {count}.", headers={"Retry-After": str(retry_after)})
