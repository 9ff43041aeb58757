"""Tables of the identity service."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field

from kernel.outbox import service_base

Base = service_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _uuid() -> str:
    return str(uuid.uuid4())


class SigningKey(Base, table=True):
    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    private_key_encrypted: str = Field(sa_column=Column(Text, nullable=False))  # Fernet token of the PKCS#8 PEM
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # base64 DER, self-signed
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class OidcClient(Base, table=True):
    __tablename__ = "oidc_client"

    client_id: str = Field(primary_key=True, max_length=50)
    client_name: str = Field(max_length=256)
    # Names per UI language, registered as clientName#lo / clientName#en; client_name stands in for a language not here.
    client_names: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    relying_party_id: str = Field(max_length=50, index=True)
    logo_uri: str = Field(max_length=1024)
    redirect_uris: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    auth_context_refs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    public_key: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    encryption_public_key: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    user_claims: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grant_types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    client_auth_methods: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)
    registration_digest: str = Field(max_length=64)  # an identical re-registration is answered, not refused
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))

    def name_in(self, language: str) -> str:
        """The name to show on a page in this language."""
        return self.client_names.get(language) or self.client_name


class ServiceAccount(Base, table=True):
    """A machine client for the client-credentials grant; authenticates with private_key_jwt."""

    __tablename__ = "service_account"

    client_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=256)
    public_key: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    scopes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    roles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class UsedAssertion(Base, table=True):
    """Client assertion ids already accepted, kept until the assertion expires (replay protection)."""

    __tablename__ = "used_assertion"

    client_id: str = Field(primary_key=True, max_length=100)
    jti: str = Field(primary_key=True, max_length=255)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class Person(Base, table=True):
    __tablename__ = "person"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    uin: str = Field(unique=True, index=True, max_length=32)
    status: str = Field(default="active", max_length=16)
    attributes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class PersonRevision(Base, table=True):
    """Every version of a person's attributes, with the enrolment that produced it (auditable history)."""

    __tablename__ = "person_revision"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    version: int
    attributes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enrollment_id: str | None = Field(default=None, max_length=100)
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Enrollment(Base, table=True):
    """An enrolment packet; editable while pending, frozen once completed."""

    __tablename__ = "enrollment"
    # The search of uncommitted enrolments reads the few pending rows in creation order, not every completed one.
    __table_args__ = (Index("ix_enrollment_status_created_at", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=100)
    process: str = Field(max_length=32)
    ref_id: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=100)
    status: str = Field(default="pending", max_length=16)
    fields: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    meta_info: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audits: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    biometrics: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    documents: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    others: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    person_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class VirtualId(Base, table=True):
    __tablename__ = "virtual_id"

    vid: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class PersonCredential(Base, table=True):
    """A person's PIN/password (argon2 hash) and its failed-attempt counter."""

    __tablename__ = "person_credential"

    person_id: str = Field(foreign_key="person.id", primary_key=True, max_length=36)
    pin_hash: str = Field(max_length=255)
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class StaffAccount(Base, table=True):
    __tablename__ = "staff_account"

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    username: str = Field(unique=True, index=True, max_length=100)
    password_hash: str = Field(max_length=255)
    roles: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class AuthTransaction(Base, table=True):
    """One /authorize request from its start through login, consent, code and tokens."""

    __tablename__ = "auth_transaction"

    id: str = Field(primary_key=True, max_length=64)
    browser_binding: str = Field(max_length=64)  # sha256 of the cookie secret: only the browser that started may continue
    client_id: str = Field(max_length=50, index=True)
    redirect_uri: str = Field(max_length=1024)
    scope: str = Field(max_length=512)
    requested_claims: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [{name, essential}]
    claims_locales: str | None = Field(default=None, max_length=128)
    ui_locale: str = Field(default="lo", max_length=8)
    state: str | None = Field(default=None, max_length=256)
    nonce: str | None = Field(default=None, max_length=256)
    acr: str = Field(max_length=64)
    code_challenge: str | None = Field(default=None, max_length=128)
    person_id: str | None = Field(default=None, max_length=36)
    staff_account_id: str | None = Field(default=None, max_length=36)  # set instead of person_id when a staff member signed in
    auth_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    consented_claims: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failed_attempts: int = 0  # wrong ids/PINs in this transaction, whoever they were for
    code_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    code_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    code_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    access_token_jti: str | None = Field(default=None, max_length=64, index=True)
    revoked: bool = False
    max_age: int | None = None  # seconds an authentication may be old when the code is issued (OIDC max_age)
    id_token_claims: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # names the `claims` parameter put in id_token
    xsrf_hash: str | None = Field(default=None, max_length=64)  # sha256 of the XSRF-TOKEN cookie given with the login page
    link_code_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    link_code_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    linked_transaction_id: str | None = Field(default=None, max_length=64, unique=True, index=True)  # the wallet's handle
    linked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    consented_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WalletPartner(Base, table=True):
    """A wallet backend allowed to bind keys (PARTNER-ID / PARTNER-API-KEY headers, besides its bearer token)."""

    __tablename__ = "wallet_partner"

    partner_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=256)
    api_key_hash: str = Field(max_length=255)  # argon2
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class WalletBinding(Base, table=True):
    """A wallet public key bound to a person for one auth factor; unique per (pairwise subject, key, factor)."""

    __tablename__ = "wallet_binding"
    __table_args__ = (UniqueConstraint("subject", "key_thumbprint", "auth_factor_type", name="uq_wallet_binding_subject_key_factor"),)

    wallet_user_id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    partner_id: str = Field(foreign_key="wallet_partner.partner_id", max_length=100)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    subject: str = Field(max_length=64)  # pairwise subject of the person for the partner (PSUT)
    key_thumbprint: str = Field(max_length=64)  # RFC 7638
    auth_factor_type: str = Field(max_length=16)
    public_key: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM, signed by the identity signing key
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class OtpChallenge(Base, table=True):
    """A one-time code (login, linked authentication, wallet binding): only its keyed hash, a short life and a few attempts."""

    __tablename__ = "otp_challenge"

    # The login or linked transaction's id, or otp.binding_key(...) for a wallet binding (which has no transaction).
    transaction_id: str = Field(primary_key=True, max_length=64)
    person_id: str | None = Field(default=None, max_length=36)  # None: the id was unknown, so no code was sent and none matches
    otp_hash: str = Field(max_length=64)
    channel: str = Field(max_length=8)
    sends: int = 1
    attempts: int = 0
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    # The OtpLimit whose person (or ID number nobody has) wrong guesses at this code count against; None on older rows.
    limit_key: str | None = Field(default=None, max_length=64)


class OtpLimit(Base, table=True):
    """Codes sent and wrong codes across transactions, per person (or per ID number nobody has, so that the limits answer
    alike and tell nothing about which numbers exist), and codes sent per wallet partner and ID number (their binding key)."""

    __tablename__ = "otp_limit"

    key: str = Field(primary_key=True, max_length=64)  # otp.limit_key(...) or otp.binding_key(...)
    sends: int = 0
    sends_since: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    failures: int = 0
    failures_since: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))  # nothing to keep after
