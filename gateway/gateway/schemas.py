"""Wire shapes of the gateway's management API (camelCase as in the GovStack IM documents)."""
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Identifier = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class MemberRegistration(Wire):
    instance_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    member_class: str = Identifier
    member_code: str = Identifier
    name: str = Field(default="", max_length=300)


class ApplicationRegistration(Wire):
    instance_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    member_class: str = Identifier
    member_code: str = Identifier
    application_code: str = Identifier
    client_id: str = Field(min_length=1, max_length=200)
    connection: Literal["http", "https"] = "https"
    room: bool = False  # a pub/sub room


class ServiceRegistration(Wire):
    instance_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    member_class: str = Identifier
    member_code: str = Identifier
    application_code: str = Identifier
    service_code: str = Identifier
    service_url: str = Field(min_length=1, max_length=1000, pattern=r"^https?://")
    openapi: dict = Field(default_factory=dict)
    service_version: str = Field(default="v1", max_length=50)


class RegistrationRead(Wire):
    kind: Literal["member", "application", "service"]
    id: str
    name: str
    status: str


class ServiceUpdate(Wire):
    enabled: bool | None = None
    service_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    openapi: dict | None = None
    data_agreement_id: str | None = Field(default=None, max_length=200)
    consent_path_prefix: str | None = Field(default=None, max_length=500)


class ServiceRead(Wire):
    id: str
    name: str
    service_url: str
    enabled: bool
    status: str
    data_agreement_id: str | None
    consent_path_prefix: str | None


class RightHolder(Wire):
    member_class: str = Identifier
    member_code: str = Identifier
    application_id: str = Identifier


class ServiceAccessRight(Wire):
    """One element of the spec's ServiceAccessRights array; instanceId is ours (default: this exchange's instance)."""

    instance_id: str | None = Field(default=None, max_length=100)
    member_class: str = Identifier
    member_code: str = Identifier
    application_id: str = Identifier
    service_id: str = Identifier
    rights: list[RightHolder] = Field(max_length=1000)


class AllowList(BaseModel):
    allowList: list[ServiceAccessRight]
    nextPageToken: str | None = None


class AuditRead(Wire):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    details: dict
