"""Tables of the consent service. Ids are strings (uuid4 unless seeded), as the OpenAPI's ids are strings."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field

from kernel.outbox import service_base

Base = service_base()


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Policy(Base, table=True):
    __tablename__ = "policy"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    name: str = Field(max_length=500)
    version: str = Field(max_length=100)
    url: str = Field(max_length=2000)
    jurisdiction: str | None = Field(default=None, max_length=200)
    industry_sector: str | None = Field(default=None, max_length=200)
    data_retention_period_days: int | None = None
    geographic_restriction: str | None = Field(default=None, max_length=200)
    storage_location: str | None = Field(default=None, max_length=200)
    deleted: bool = False
    current_revision_id: str | None = Field(default=None, max_length=64)


class DataAgreement(Base, table=True):
    __tablename__ = "data_agreement"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    version: str = Field(max_length=100)
    # The controller is kept inline and the policy by the revision the agreement was made under, so a later
    # change elsewhere never alters what was agreed to (the agreement's snapshot stays true).
    controller_id: str | None = Field(default=None, max_length=64)
    controller_name: str | None = Field(default=None, max_length=500)
    controller_url: str | None = Field(default=None, max_length=2000)
    policy_id: str | None = Field(default=None, foreign_key="policy.id", index=True, max_length=64)
    policy_revision_id: str | None = Field(default=None, max_length=64)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    lawful_basis: str = Field(max_length=50)
    data_use: str | None = Field(default=None, max_length=50)
    dpia: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    forgettable: bool = False
    compatible_with_version_id: str | None = Field(default=None, max_length=64)
    lifecycle: str = Field(default="Complete", max_length=20)
    signature_id: str | None = Field(default=None, max_length=64)
    deleted: bool = False
    current_revision_id: str | None = Field(default=None, max_length=64)


class DataAgreementAttribute(Base, table=True):
    __tablename__ = "data_agreement_attribute"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    data_agreement_id: str = Field(foreign_key="data_agreement.id", index=True, max_length=64)
    position: int = 0  # attributes keep their order in snapshots
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    sensitivity: str = Field(max_length=100)
    category: str = Field(max_length=200)


class Individual(Base, table=True):
    __tablename__ = "individual"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    external_id: str | None = Field(default=None, max_length=200)
    external_id_type: str | None = Field(default=None, max_length=100)
    identity_provider_id: str | None = Field(default=None, max_length=200)
    # The OIDC subject that citizen tokens must carry to act for this individual.
    subject: str | None = Field(default=None, index=True, max_length=200)
    public_key_jwk: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # PEM: the Identity BB's wallet-binding certificate for public_key_jwk (key_binding.py).
    public_key_certificate: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The OIDC client that registered the individual: an application lists only the individuals it registered.
    created_by: str | None = Field(default=None, max_length=200, index=True)


class Revision(Base, table=True):
    __tablename__ = "revision"
    __table_args__ = (Index("ix_revision_object", "schema_name", "object_id", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)  # global append order
    id: str = Field(default_factory=new_id, unique=True, max_length=64)
    schema_name: str = Field(max_length=50)
    object_id: str = Field(max_length=64)
    signed_without_object_id: bool = False
    serialized_snapshot: str = Field(sa_column=Column(Text, nullable=False))
    serialized_hash: str = Field(max_length=128)
    timestamp: str = Field(max_length=40)
    authorized_by_individual_id: str | None = Field(default=None, max_length=64)
    authorized_by_other: str | None = Field(default=None, max_length=200)
    successor_id: str | None = Field(default=None, max_length=64)
    predecessor_hash: str | None = Field(default=None, max_length=128)
    predecessor_signature: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The revision's place in its object's chain (1, 2, ...), and the audit key's JWS over its link (seal.py).
    number: int | None = None
    seal: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditKey(Base, table=True):
    """The key revisions are sealed with: the private half only encrypted under AUDIT_KEY_SECRET (seal.py)."""

    __tablename__ = "audit_key"

    kid: str = Field(primary_key=True, max_length=64)
    public_jwk: dict = Field(sa_column=Column(JSON, nullable=False))
    sealed_private_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class ErasedChain(Base, table=True):
    """What is left of a chain erased under the right to be forgotten: how far it went, sealed, and no personal data.
    An auditor's checkpoint that names the chain then shows an erasure, not a deletion (integrity.py)."""

    __tablename__ = "erased_chain"

    schema_name: str = Field(primary_key=True, max_length=50)
    object_id: str = Field(primary_key=True, max_length=64)
    number: int  # of the chain's latest revision when it was erased
    revision_id: str = Field(max_length=64)
    erased_at: str = Field(max_length=40)
    seal: str = Field(sa_column=Column(Text, nullable=False))


class Signature(Base, table=True):
    __tablename__ = "signature"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    signature: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    verification_method: str = Field(max_length=50)
    verification_payload: str = Field(sa_column=Column(Text, nullable=False))
    verification_payload_hash: str = Field(max_length=128)
    verification_artifact: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    verification_signed_by: str = Field(max_length=200)
    verification_signed_as: str | None = Field(default=None, max_length=20)
    verification_jws_header: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    timestamp: str = Field(max_length=40)
    signed_without_object_reference: bool = False
    object_type: str = Field(default="revision", max_length=20)
    object_reference: str | None = Field(default=None, max_length=64)
    consent_record_id: str | None = Field(default=None, index=True, max_length=64)


class ConsentRecord(Base, table=True):
    __tablename__ = "consent_record"
    # The spec's UNIQUE (dataAgreementRevision, individual); with individual first it is also the index
    # the verification fast path reads.
    __table_args__ = (UniqueConstraint("individual_id", "data_agreement_revision_id", name="uq_consent_record_individual_revision"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    data_agreement_id: str = Field(foreign_key="data_agreement.id", index=True, max_length=64)
    data_agreement_revision_id: str = Field(max_length=64)
    data_agreement_revision_hash: str = Field(max_length=128)
    individual_id: str = Field(foreign_key="individual.id", max_length=64)
    opt_in: bool
    state: str = Field(max_length=20)
    signature_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Webhook(Base, table=True):
    __tablename__ = "webhook"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    payload_url: str = Field(max_length=2000)
    content_type: str = Field(default="application/json", max_length=100)
    disabled: bool = False
    secret_key: str = Field(max_length=500)


class WebhookEvent(Base, table=True):
    __tablename__ = "webhook_event"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    name: str = Field(unique=True, max_length=100)


class WebhookEventSubscription(Base, table=True):
    __tablename__ = "webhook_event_subscription"
    __table_args__ = (UniqueConstraint("webhook_id", "webhook_event_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    webhook_id: str = Field(foreign_key="webhook.id", index=True, max_length=64)
    webhook_event_id: str = Field(foreign_key="webhook_event.id", max_length=64)


class WebhookDelivery(Base, table=True):
    """One row per push attempt of an event to a webhook; `delivered` marks the attempt that succeeded."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_event", "event_id", "webhook_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    webhook_id: str = Field(max_length=64)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    attempt: int
    status_code: int | None = None
    delivered: bool = False
    error: str | None = Field(default=None, max_length=500)
    attempted_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookPush(Base, table=True):
    """An event owed to one webhook: retried with exponential backoff until delivered or given up.

    Kept in the database (not in a broker delay queue) so the delay can grow per attempt and survive restarts.
    """

    __tablename__ = "webhook_push"
    __table_args__ = (UniqueConstraint("event_id", "webhook_id", name="uq_webhook_push_event_webhook"),
                      Index("ix_webhook_push_due", "status", "next_attempt_at"))

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    webhook_id: str = Field(max_length=64)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))  # the exact bytes pushed (and signed) on every attempt
    status: str = Field(default="pending", max_length=20)  # PushStatus
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
