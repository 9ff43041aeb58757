"""Tables of the registration service: service definitions, e-forms, application files, tasks, documents, registry."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlmodel import Field

from kernel.outbox import service_base

Base = service_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def _when(nullable: bool = False):
    return Field(default_factory=utcnow if not nullable else None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class ServiceDefinition(Base, table=True):
    """An e-service as designers assemble it; its content lives in versioned documents."""

    __tablename__ = "service_definition"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)  # free strings: GovStack seeds use non-uuids
    code: str = Field(unique=True, max_length=40)
    published_version: int | None = None
    created: datetime = _when()
    updated: datetime = _when()


class ServiceVersion(Base, table=True):
    __tablename__ = "service_version"
    __table_args__ = (UniqueConstraint("service_id", "version"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service_definition.id", index=True, max_length=64)
    version: int
    document: dict = Field(sa_column=Column(JSON, nullable=False))
    published: datetime | None = _when(nullable=True)
    created: datetime = _when()
    created_by: str = Field(default="", max_length=200)


class EFormVersion(Base, table=True):
    """A published e-form; GovStack reuses one e-form id across services, so rows are keyed by (id, version, service)."""

    __tablename__ = "eform_version"
    __table_args__ = (UniqueConstraint("eform_id", "version", "service_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    eform_id: str = Field(index=True, max_length=64)
    version: str = Field(max_length=40)
    service_id: str = Field(foreign_key="service_definition.id", index=True, max_length=64)
    name: str = Field(default="", max_length=200)
    description: str = ""
    schema_: dict = Field(sa_column=Column("schema", JSON, nullable=False))
    published: datetime = _when()


class ApplicationFile(Base, table=True):
    __tablename__ = "application_file"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)  # the spec's fileId
    service_id: str = Field(index=True, max_length=64)
    service_version: int | None = None
    applicant_id: str = Field(index=True, max_length=200)  # the token's sub
    application_name: str = Field(default="", max_length=300)
    status: str = Field(default="DRAFT", index=True, max_length=20)  # DRAFT, PENDING, SENDBACK, APPROVED, REJECTED
    eform_id: str = Field(default="", max_length=64)
    form_data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    processing_data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # operators' input
    document_urls: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="lo", max_length=10)
    main_task_id: str = Field(default_factory=new_id, max_length=64)
    sent_back_by_role: str | None = Field(default=None, max_length=64)  # where a corrected file resumes
    description: str = ""
    created: datetime = _when()
    registered: datetime | None = _when(nullable=True)  # when it was submitted
    ended: bool = False
    registration_number: str | None = Field(default=None, max_length=80)
    fees: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))  # rules.fees_for at submission
    expected_end: datetime | None = _when(nullable=True)  # (re)submission + the service's processing_days
    fields_to_fix: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))  # marked on send-back


class FileHistory(Base, table=True):
    """What happened to a file, in order: what the applicant's status page shows."""

    __tablename__ = "file_history"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    file_id: str = Field(foreign_key="application_file.id", index=True, max_length=64)
    at: datetime = _when()
    action: str = Field(max_length=40)  # saved, submitted, claimed, approve, reject, send_back, corrected, updated
    actor: str = Field(default="", max_length=200)
    role_id: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=20)
    reason: str = ""


class FileMessage(Base, table=True):
    """A message between the applicant and the operators of one file."""

    __tablename__ = "file_message"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    file_id: str = Field(foreign_key="application_file.id", index=True, max_length=64)
    at: datetime = _when()
    author_id: str = Field(max_length=200)
    author_kind: str = Field(max_length=20)  # applicant or operator
    role_id: str | None = Field(default=None, max_length=64)  # the operator's processing role
    text: str


class Task(Base, table=True):
    """One processing role's work on one file; a completed task is that role's decision."""

    __tablename__ = "task"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    file_id: str = Field(index=True, max_length=64)
    main_task_id: str = Field(index=True, max_length=64)
    service_id: str = Field(index=True, max_length=64)
    role_id: str = Field(max_length=64)
    role_name: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=300)
    description: str = ""
    eform_id: str = Field(default="", max_length=64)
    assignee_id: str | None = Field(default=None, index=True, max_length=200)
    assignee_name: str = Field(default="", max_length=200)
    status: str = Field(default="PENDING", index=True, max_length=20)  # PENDING until decided, then the decision's status
    decision: str | None = Field(default=None, max_length=20)  # approve, reject, send_back
    reason: str = ""
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = _when()
    completed: datetime | None = _when(nullable=True)


class Document(Base, table=True):
    __tablename__ = "document"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    owner_id: str = Field(index=True, max_length=200)
    file_id: str | None = Field(default=None, index=True, max_length=64)
    document_type: str = Field(default="", max_length=80)
    file_name: str = Field(default="", max_length=255)  # as the uploader's device named it, shown back to the applicant
    content_type: str = Field(max_length=120)
    size: int
    # Set only on rows from before the bytes moved into the database: their file, relative to documents_dir
    # (uploads.move_into_database moves it into document_content on first read, or the purge does).
    path: str | None = Field(default=None, max_length=500)
    additional_metadata: str = ""
    created: datetime = _when()


class DocumentContent(Base, table=True):
    """An upload's bytes. A table of their own rather than a column of document: lists, access checks, locks and the
    purge load document rows by the hundred, and none of them may drag megabytes along; only a download reads this."""

    __tablename__ = "document_content"

    # ON DELETE CASCADE as a backstop: uploads._delete removes the content itself, in the same transaction.
    document_id: str = Field(sa_column=Column(String(64), ForeignKey("document.id", ondelete="CASCADE"), primary_key=True))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # bytea on PostgreSQL, BLOB on SQLite


class RegistryRecord(Base, table=True):
    """An approved registration, written into the e-service's registry."""

    __tablename__ = "registry_record"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    registration_number: str = Field(unique=True, max_length=80)
    service_id: str = Field(index=True, max_length=64)
    file_id: str = Field(unique=True, max_length=64)
    applicant_id: str = Field(max_length=200)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = _when()


class RegistrySequence(Base, table=True):
    """The last number given per service code and year; locked while a number is drawn."""

    __tablename__ = "registry_sequence"

    service_code: str = Field(primary_key=True, max_length=40)
    year: int = Field(primary_key=True)
    last: int = 0
