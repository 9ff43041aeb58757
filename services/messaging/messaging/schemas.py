"""Wire shapes of the messaging API, mirroring its GovStack OpenAPI document (and our SMS extension)."""
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from messaging.enums import Priority


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CallbackSender(_Wire):
    URI: str | None = Field(default=None, max_length=2000)


class SenderInfo(_Wire):
    organisationName: str | None = Field(default=None, max_length=300)
    organisationRegNr: str | None = Field(default=None, max_length=100)
    onBehalfOfName: str | None = Field(default=None, max_length=300)
    onBehalfOfRegNr: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    replyTo: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=300)


class EmailContent(_Wire):
    encoding: str = "UTF-8"
    title: str = Field(min_length=1, max_length=998)  # RFC 5322 line limit
    content: str = Field(min_length=1)


class SmsContent(_Wire):
    encoding: str = "UTF-8"
    content: str = Field(min_length=1, max_length=1600)  # ten concatenated segments


class _SendIn(_Wire):
    # The suite sends callback.URI on both endpoints; the OpenAPI's batch shape says callbackURI. Both are read.
    callback: CallbackSender | None = None
    callbackURI: CallbackSender | None = None
    senderInfo: SenderInfo | None = None
    recipientInfo: dict  # a single recipient, or {batch…AsBase64: ...}; see addresses.recipients_of
    priority: Priority = Priority.routine  # our extension; emergency needs a key allowed to use it

    @property
    def callback_uri(self) -> str | None:
        return (self.callback and self.callback.URI) or (self.callbackURI and self.callbackURI.URI) or None


class EmailIn(_SendIn):
    emailContent: EmailContent


class SmsIn(_SendIn):
    smsContent: SmsContent


class CallbackContent(_Wire):
    meta: str | None = Field(default=None, max_length=10_000)
    content: str = Field(min_length=1, max_length=1_000_000)  # base64


class RequestAccepted(BaseModel):
    response: str
    requestUID: str  # what the suite reads
    requestUid: str  # what the OpenAPI names


QUOTA_MAX = 2**31 - 1  # the column is a PostgreSQL integer


class ApiKeyCreate(_Wire):
    name: str = Field(min_length=1, max_length=200)
    emergencyAllowed: bool = False
    # Quotas of this key (messages per rolling minute / day); absent: the service-wide QUOTA_MESSAGES_PER_*; 0: unlimited.
    messagesPerMinute: int | None = Field(default=None, ge=0, le=QUOTA_MAX)
    messagesPerDay: int | None = Field(default=None, ge=0, le=QUOTA_MAX)


class ApiKeyQuotasUpdate(BaseModel):
    """PATCH of a key's quotas: a field left out keeps its value, null returns to the service-wide QUOTA_MESSAGES_PER_*,
    0 means unlimited. Unknown fields are refused, so a misspelt field cannot pass for "nothing to change"."""

    model_config = ConfigDict(extra="forbid")

    messagesPerMinute: int | None = Field(default=None, ge=0, le=QUOTA_MAX, strict=True)
    messagesPerDay: int | None = Field(default=None, ge=0, le=QUOTA_MAX, strict=True)


class ApiKeyRead(BaseModel):
    id: str
    name: str
    emergencyAllowed: bool
    messagesPerMinute: int | None = None
    messagesPerDay: int | None = None
    createdAt: datetime
    revokedAt: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    apiKey: str  # shown once; only its hash is stored
