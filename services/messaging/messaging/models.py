"""Tables of the messaging service. Addresses and content are stored only as Fernet tokens (`*_enc`)."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from kernel.outbox import service_base, utcnow

Base = service_base()


def new_id() -> str:
    return str(uuid.uuid4())


class ApiKey(Base, table=True):
    """A calling application's key; only its sha256 is kept (the key itself is shown once, at creation)."""

    __tablename__ = "api_key"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    emergency_allowed: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(default="", max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # Messages this key may have accepted per rolling minute / day; None: the service-wide QUOTA_MESSAGES_PER_* apply.
    messages_per_minute: int | None = None
    messages_per_day: int | None = None


class SendRequest(Base, table=True):
    """One accepted send call (single or batch): shared sender and content, one Message per recipient."""

    __tablename__ = "send_request"
    __table_args__ = (UniqueConstraint("caller", "content_hash", "dedupe_window", name="uq_send_request_duplicate"),
                      Index("ix_send_request_caller_created", "caller", "created_at"))

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_uid: str = Field(max_length=40, unique=True, index=True)
    caller: str = Field(max_length=100)  # api key id, or "internal" for notifications from other BBs
    channel: str = Field(max_length=10)
    message_count: int = 1  # recipients, so quotas sum requests instead of counting messages
    priority: str = Field(max_length=10)
    content_hash: str = Field(max_length=64)
    dedupe_window: int  # duplicate-window number; with the unique constraint, the backstop against concurrent duplicates
    callback_uri: str | None = Field(default=None, max_length=2000)
    sender_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    content_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    purged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Message(Base, table=True):
    """One recipient of a request, and where its delivery stands.

    `status` is the current state, kept for counting; every transition is a MessageStatusEvent row. While a worker
    holds a batch, the events run ahead of `status` (sending, delivered) until the batch commits.
    """

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_due", "status", "next_attempt_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="send_request.id", index=True, max_length=36)
    recipient_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="queued", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    last_error: str | None = Field(default=None, max_length=100)  # an error class or SMTP code, never content
    provider_ref: str | None = Field(default=None, max_length=200, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Reply(Base, table=True):
    """A P2G reply posted to /callback/{channel}, kept encrypted until it is forwarded and purged."""

    __tablename__ = "reply"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="send_request.id", index=True, max_length=36)
    content_hash: str = Field(max_length=64)
    meta_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    content_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class MessageStatusEvent(Base, table=True):
    """Append-only history of a message's transitions (spec 5.1.1): rows are inserted, never updated or deleted.

    A delivery worker journals `sending` before it hands a message to the provider and the provider's acceptance right
    after, in their own commits, so a worker killed before its batch commits leaves what it did behind.
    """

    __tablename__ = "message_status_event"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    message_id: str = Field(sa_column=Column(String(36), ForeignKey("message.id"), nullable=False, index=True))
    attempt: int = 0  # the delivery attempt it belongs to (0: before any attempt)
    status: str = Field(max_length=20)
    source: str = Field(max_length=20)  # api, internal, worker, scheduler, gateway
    detail: str | None = Field(default=None, max_length=200)  # error code, provider reference or possible_duplicate; never content
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
