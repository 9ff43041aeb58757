"""The append-only status history: each transition of a message adds a MessageStatusEvent row next to its status."""
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from kernel.outbox import utcnow
from messaging.enums import MessageStatus
from messaging.models import Message, MessageStatusEvent


def transition(session: Session, message: Message, status: MessageStatus, *, source: str, detail: str | None = None,
               at: datetime | None = None) -> None:
    """Move a message to `status` and record the move, in the caller's transaction."""
    at = at or utcnow()
    message.status, message.updated_at = status, at
    session.add(MessageStatusEvent(message_id=message.id, attempt=message.attempts, status=status, source=source,
                                   detail=detail, at=at))


def of_messages(session: Session, message_ids: list[str]) -> list[MessageStatusEvent]:
    """The events of these messages, oldest first."""
    if not message_ids:
        return []
    return list(session.scalars(select(MessageStatusEvent).where(MessageStatusEvent.message_id.in_(message_ids))
                                .order_by(MessageStatusEvent.id)).all())
