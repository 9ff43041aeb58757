"""Wire shapes of the gateway's management API (camelCase as in the GovStack IM documents)."""
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
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
    """The spec's AllowedApplication; instanceId is ours (default: the service's instance), for a client in another one."""

    instance_id: str | None = Field(default=None, max_length=100)
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


# --- IMconf (the Configuration Management API's configuration document) -------------------------------------------

class IMconfPart(BaseModel):
    # Unknown fields are refused so that a misspelt one (clientID) is a 400, not silently ignored. YAML reads `code: 7001`
    # as a number, as in the spec's own sample, so numbers are taken as text.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)


class IMconfRight(IMconfPart):
    # The spec's member is the member's name; ours is also INSTANCE/CLASS/CODE or CLASS/CODE (names are not unique).
    member: str = Field(min_length=1, max_length=300)
    application: str = Identifier


class IMconfService(IMconfPart):
    id: str = Identifier
    service_url: str = Field(min_length=1, max_length=1000, pattern=r"^https?://",
                             validation_alias=AliasChoices("serviceUrl", "service_url"))
    # The spec's description URL; read and not used (a service's OpenAPI document is set with PATCH /api/v1/services).
    spec_url: str | None = Field(default=None, max_length=1000, validation_alias=AliasChoices("specUrl", "spec_url"))
    enabled: bool | None = None
    rights: list[IMconfRight] = Field(default_factory=list, max_length=10_000)


class IMconfApplication(IMconfPart):
    id: str = Identifier
    connection: Literal["http", "https"] | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=200, alias="clientId")
    room: bool | None = None
    tls_client_cert: str | None = Field(default=None, min_length=1, max_length=500, alias="tlsClientCert")
    services: list[IMconfService] = Field(default_factory=list, max_length=10_000)


class IMconfMember(IMconfPart):
    name: str = Field(default="", max_length=300)
    member_class: str = Field(alias="class", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    code: str = Identifier
    instance: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    applications: list[IMconfApplication] = Field(default_factory=list, max_length=10_000)


class IMconf(IMconfPart):
    domain: str | None = Field(default=None, max_length=300)  # the spec's subdomain of the instance; not used
    instance: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.\-]*$")
    members: list[IMconfMember] = Field(default_factory=list, max_length=10_000)
