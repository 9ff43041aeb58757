"""Tables of the gateway: the directory, access rights, the message and audit logs, and pub/sub."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field

from kernel.outbox import service_base

Base = service_base()


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _at() -> Column:
    return Column(DateTime(timezone=True), nullable=False)


class Member(Base, table=True):
    """An organisation onboarded to the exchange, identified by class + code within an instance."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("instance", "member_class", "code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    instance: str = Field(max_length=100)
    member_class: str = Field(max_length=100)
    code: str = Field(max_length=100)
    name: str = Field(default="", max_length=300)
    status: str = Field(default="requested", max_length=20)  # requested | approved | rejected
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class Application(Base, table=True):
    """A member's system (X-Road subsystem) that calls or provides services; client_id binds its OAuth client."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("member_id", "code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    member_id: str = Field(foreign_key="member.id", index=True, max_length=36)
    code: str = Field(max_length=100)
    client_id: str | None = Field(default=None, index=True, max_length=200)
    # Mutual TLS: the SHA-256 fingerprint or the subject name of the client certificate that proves this application.
    tls_client_cert: str | None = Field(default=None, max_length=500)
    connection: str = Field(default="https", max_length=10)
    is_room: bool = False  # a pub/sub room: its event types are its services
    status: str = Field(default="requested", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class Service(Base, table=True):
    """One provider API of an application: where it answers, its OpenAPI document and whether it is open."""

    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("application_id", "code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    code: str = Field(max_length=100)
    url: str = Field(max_length=1000)
    openapi: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: str = Field(default="v1", max_length=50)
    enabled: bool = True
    status: str = Field(default="requested", max_length=20)
    # Personal data of a data agreement: calls under the prefix need the Consent BB's confirmation.
    data_agreement_id: str | None = Field(default=None, max_length=200)
    consent_path_prefix: str | None = Field(default=None, max_length=500)  # None: the whole service
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class AccessRight(Base, table=True):
    """Whether a client application may call a service (no row: denied)."""

    __tablename__ = "access_right"
    __table_args__ = (UniqueConstraint("service_id", "client_application_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    client_application_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    allowed: bool = True
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class AuditEntry(Base, table=True):
    """One administrative action, successful or not."""

    __tablename__ = "audit_entry"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_at())
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100)
    target: str = Field(default="", max_length=500)
    outcome: str = Field(max_length=20)  # success | failure
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MessageLogEntry(Base, table=True):
    """The metadata of one exchange, hash-chained to the row before it."""

    __tablename__ = "message_log"

    seq: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(index=True, max_length=200)
    client: str = Field(max_length=500)
    service: str = Field(max_length=500)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2000)
    status: int
    outcome: str = Field(max_length=30)  # delivered | refused | failed
    error: str = Field(default="", max_length=200)
    request_size: int = 0
    response_size: int = 0
    request_hash: str = Field(default="", max_length=100)
    response_hash: str = Field(default="", max_length=100)
    started_at: datetime = Field(sa_column=_at())
    finished_at: datetime = Field(sa_column=_at())
    request_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # only when configured
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(max_length=100)
    row_hash: str = Field(max_length=100)
    # Tells a journal replay which exchanges are stored already (not hashed: rows from before it have none).
    entry_id: str | None = Field(default=None, max_length=36, unique=True)


class ChainSignature(Base, table=True):
    """A JWS over the chain head after one written batch, made with the gateway's signing key."""

    __tablename__ = "chain_signature"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    head_seq: int = Field(index=True)
    head_hash: str = Field(max_length=100)
    kid: str = Field(max_length=100)
    jws: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class SigningKey(Base, table=True):
    """The key the gateway signs chain heads with (generated on first use). The private part is stored only sealed
    (Fernet, under MESSAGE_LOG_KEY_SECRET): whoever can write this database alone can neither sign with it nor plant a
    key of their own that verification would accept. `private_jwk` holds a key stored before sealing, until it is sealed."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=100)
    private_jwk: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sealed_private_jwk: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    public_jwk: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class ConsentWithdrawal(Base, table=True):
    """A withdrawal seen on the bus; API processes poll these to drop cached consent answers."""

    __tablename__ = "consent_withdrawal"

    seq: int | None = Field(default=None, primary_key=True)
    individual_id: str | None = Field(default=None, max_length=200)
    data_agreement_id: str | None = Field(default=None, max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=_at())


class EventType(Base, table=True):
    """An event type of a room, with the JSON Schema its payloads must match."""

    __tablename__ = "event_type"
    __table_args__ = (UniqueConstraint("room_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", max_length=36)  # access rights are kept on this service
    name: str = Field(max_length=100)
    schema_: dict = Field(default_factory=dict, sa_column=Column("schema", JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class Subscription(Base, table=True):
    """An application's subscription to one event type of a room. Unsubscribing ends it (ended_at) instead of deleting
    it: its deliveries stay in each event's status, and the same application may subscribe again (a new row)."""

    __tablename__ = "subscription"
    __table_args__ = (Index("uq_subscription_active", "room_id", "event_type", "subscriber_id", unique=True,
                            sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    event_type: str = Field(max_length=100)
    subscriber_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    delivery: str = Field(default="PUSH", max_length=10)  # PUSH | PULL
    push_url: str | None = Field(default=None, max_length=1000)
    ttl: int = 3600
    fifo: bool = False  # pushed one at a time in publishing order: an event waits until the one before it is settled
    # Retry strategy of this subscriber (None: the gateway's PUSH_MAX_ATTEMPTS, PUSH_BACKOFF_SECONDS).
    max_attempts: int | None = None
    backoff_seconds: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class PublishedEvent(Base, table=True):
    """An event as the room received it; seq is the room-assigned, monotonically increasing sequence."""

    __tablename__ = "published_event"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, unique=True, max_length=100)
    room_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    event_type: str = Field(max_length=100)
    publisher: str = Field(max_length=500)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stopped: bool = False
    received_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class Delivery(Base, table=True):
    """One event for one subscription: pending, delivered, acknowledged (pull), dropped or stopped."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("event_id", "subscription_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    event_id: str = Field(foreign_key="published_event.id", index=True, max_length=100)
    subscription_id: str = Field(foreign_key="subscription.id", index=True, max_length=36)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class DeliveryAttempt(Base, table=True):
    """Every push attempt, successful or not."""

    __tablename__ = "delivery_attempt"

    seq: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="delivery.id", index=True, max_length=36)
    attempt: int
    outcome: str = Field(max_length=20)  # delivered | failed | dropped
    status_code: int | None = None
    error: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=_at())
