"""Accepting a send: store the request and one message per recipient, and request each delivery through the outbox."""
import logging
import secrets
import string
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from kernel.db import UnitOfWork, insert_rows
from messaging import crypto, quotas
from messaging.enums import Channel, MessageStatus, Priority
from messaging.events import accepted_event
from messaging.models import ApiKey, Message, MessageStatusEvent, SendRequest, new_id
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)

_UID_ALPHABET = string.ascii_letters + string.digits


def new_request_uid() -> str:
    """Shaped like the spec's example, UfQK-CPju-Ea5B-6y7X-8A72-VqU5 (about 143 random bits)."""
    return "-".join("".join(secrets.choice(_UID_ALPHABET) for _ in range(4)) for _ in range(6))


def _find_duplicate(uow: UnitOfWork, *, caller: str, content_hash: str, since: datetime) -> SendRequest | None:
    return uow.session.exec(
        select(SendRequest).where(SendRequest.caller == caller, SendRequest.content_hash == content_hash, SendRequest.created_at >= since)
    ).first()


def accept(uow: UnitOfWork, *, settings: MessagingSettings, caller: str, channel: Channel, priority: Priority,
           recipients: list[dict], sender: dict | None, content: dict, callback_uri: str | None,
           dedupe: bool = True, api_key: ApiKey | None = None) -> tuple[SendRequest, bool]:
    """Store and enqueue a request, or return the earlier identical one.

    With dedupe it commits (the duplicate check needs the unique constraint's verdict); without, the caller commits.
    With api_key, the key's quotas apply to new requests (ApiError 429; a repeated request costs nothing).

    Returns (request, created).
    """
    now = datetime.now(timezone.utc)
    window = settings.duplicate_window_seconds
    fingerprint = {"channel": channel, "priority": priority, "recipients": recipients, "sender": sender,
                   "content": content, "callback": callback_uri}
    request_id = new_id()
    if not dedupe:
        fingerprint["request"] = request_id  # internal notifications are deduplicated by event id upstream instead
    content_hash = crypto.content_hash(settings.messaging_secret, {"caller": caller, **fingerprint})
    if dedupe:
        earlier = _find_duplicate(uow, caller=caller, content_hash=content_hash, since=now - timedelta(seconds=window))
        if earlier is not None:
            log.info("duplicate request not queued again", extra={"fields": {"request_id": earlier.id}})
            return earlier, False
    if api_key is not None:
        quotas.check_or_raise(uow, settings=settings, api_key=api_key, count=len(recipients), now=now)
    request = SendRequest(
        id=request_id, request_uid=new_request_uid(), caller=caller, channel=channel, priority=priority, content_hash=content_hash,
        message_count=len(recipients),
        dedupe_window=int(now.timestamp() // window),
        callback_uri=callback_uri, created_at=now,
        sender_enc=crypto.encrypt(settings.messaging_secret, sender) if sender else None,
        content_enc=crypto.encrypt(settings.messaging_secret, content),
    )
    try:
        uow.session.add(request)
        uow.session.flush()  # the request row first: messages reference it
        # A batch's rows as one statement per table: as ORM objects they cost more CPU than everything else in a send.
        message_ids = [new_id() for _ in recipients]
        insert_rows(uow.session, Message.__table__, [
            {"id": message_id, "request_id": request.id, "recipient_enc": crypto.encrypt(settings.messaging_secret, recipient),
             "status": MessageStatus.queued, "attempts": 0, "next_attempt_at": now, "last_error": None, "provider_ref": None,
             "created_at": now, "updated_at": now} for message_id, recipient in zip(message_ids, recipients)])
        source = "internal" if caller == "internal" else "api"
        insert_rows(uow.session, MessageStatusEvent.__table__, [
            {"message_id": message_id, "attempt": 0, "status": MessageStatus.queued, "source": source, "detail": None, "at": now}
            for message_id in message_ids])
        uow.emit_all([accepted_event(message_id=message_id, priority=priority) for message_id in message_ids])
        if dedupe:
            uow.commit()
    except IntegrityError:
        # An identical request committed concurrently in the same window; answer with that one.
        if not dedupe:
            raise
        uow.rollback()
        earlier = _find_duplicate(uow, caller=caller, content_hash=content_hash, since=now - timedelta(seconds=window))
        if earlier is None:
            raise
        return earlier, False
    log.info("request accepted", extra={"fields": {"request_id": request.id, "messages": len(recipients), "channel": str(channel), "priority": str(priority)}})
    return request, True
