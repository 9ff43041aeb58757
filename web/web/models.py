"""Tables of the web portal: server-side sessions and forms kept across a new sign-in (the cookies hold only random ids,
stored here hashed)."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Text
from sqlmodel import Field

from kernel.outbox import service_base

Base = service_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite drops the zone


class WebSession(Base, table=True):
    __tablename__ = "web_session"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    cookie_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 of the cookie: a database read yields no usable cookie
    kind: str = Field(default="pending", max_length=16)  # pending (sign-in under way), citizen, staff
    subject: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=300)
    roles: str = Field(default="", max_length=1000)  # space separated, for staff
    access_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    login_state: str | None = Field(default=None, max_length=100)
    login_nonce: str | None = Field(default=None, max_length=100)
    code_verifier: str | None = Field(default=None, max_length=128)
    return_to: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class KeptForm(Base, table=True):
    """A form posted when the sign-in had ended: kept for the page it came from, which shows it again after the new sign-in."""
    __tablename__ = "kept_form"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    cookie_hash: str = Field(max_length=64, unique=True, index=True)
    page: str = Field(max_length=500)  # the GET page the form was on (a path)
    fields: dict = Field(sa_column=Column(JSON, nullable=False))  # name -> [values]; uploaded files are not kept
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
