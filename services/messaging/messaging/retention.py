"""Retention: after settings.retention_days, addresses and content are deleted; the status counts stay."""
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlmodel import Session, select

from messaging.models import Message, Reply, SendRequest
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)


def purge_expired(engine, *, settings: MessagingSettings, now: datetime | None = None) -> int:
    """Erase the encrypted personal data of requests older than the retention period; returns how many requests."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=settings.retention_days)
    with Session(engine) as session:
        ids = list(session.exec(select(SendRequest.id).where(SendRequest.created_at < cutoff, SendRequest.purged_at.is_(None))).all())
        if not ids:
            return 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            session.execute(update(Message).where(Message.request_id.in_(chunk)).values(recipient_enc=None))
            session.execute(update(Reply).where(Reply.request_id.in_(chunk)).values(meta_enc=None, content_enc=None))
            session.execute(update(SendRequest).where(SendRequest.id.in_(chunk)).values(sender_enc=None, content_enc=None, purged_at=now))
        session.commit()
        log.info("retention: purged personal data of %d request(s)", len(ids))
        return len(ids)
