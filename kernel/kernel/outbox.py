"""Outbox and processed-message tables: events leave with the transaction that made them, and arrive once."""
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_unsent", "sent_at", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)  # publish order
    id: str = Field(index=True, unique=True, max_length=36)
    type: str = Field(max_length=200)
    source: str = Field(max_length=100)
    subject: str | None = Field(default=None, max_length=200)
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    headers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # W3C trace context
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ProcessedMessage(SQLModel, table=True):
    """One row per (consumer, message id); its primary key is what makes a redelivery harmless."""

    __tablename__ = "processed_message"

    consumer: str = Field(primary_key=True, max_length=100)
    message_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def service_base() -> type[SQLModel]:
    """A SQLModel base with the service's own metadata (outbox tables included), so two services' tables never collide."""
    from sqlalchemy.orm import registry

    class Base(SQLModel, registry=registry()):
        pass

    for table in (OutboxMessage.__table__, ProcessedMessage.__table__):
        table.to_metadata(Base.metadata)
    return Base
