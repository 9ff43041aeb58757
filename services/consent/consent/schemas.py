"""Wire shapes of the consent API, mirroring its GovStack OpenAPI document: camelCase, string ids,
objects wrapped under their camelCase name. Inputs are pydantic models; outputs are built by the *_wire functions
(the same dicts are the `objectData` of revision snapshots, so what is signed is what clients see)."""
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic.alias_generators import to_camel

from consent.enums import DataUse, LawfulBasis, Lifecycle
from consent.models import ConsentRecord, DataAgreement, DataAgreementAttribute, Individual, Policy, Revision, Signature, Webhook

# Numeric ids (the GovStack seed data), 24-hex ObjectIds (iGrant) and UUIDs (ours); anything else is not an id.
# Numbers (the GovStack test data), 24-hex (the spec's examples), UUIDs, and the Identity BB's pairwise subjects (base64url
# of a SHA-256: a citizen's individual takes its token's subject as id, see routes/individuals.py).
ID_PATTERN = r"^(?:[0-9]{1,20}|[0-9a-f]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{43})$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=20000)]
Short = Annotated[str, Field(max_length=200)]


class WireModel(BaseModel):
    # Clients may echo whole objects back (with read-only fields); unknown keys are ignored, known ones validated.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class PolicyIn(WireModel):
    name: Text
    version: Annotated[str, Field(min_length=1, max_length=100)]
    url: AnyHttpUrl
    jurisdiction: Short | None = None
    industry_sector: Short | None = None
    data_retention_period_days: Annotated[StrictInt, Field(ge=0, le=36500)] | None = None
    geographic_restriction: Short | None = None
    storage_location: Short | None = None


class PolicyBody(WireModel):
    policy: PolicyIn


class Ref(WireModel):
    id: Id


class ControllerIn(WireModel):
    id: Id | None = None
    name: Text
    url: AnyHttpUrl | None = None


class AttributeIn(WireModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    # The OpenAPI says "categories of sensitivity" (a string); iGrant sends a boolean. Both are kept as text.
    sensitivity: Annotated[str, Field(min_length=1, max_length=100)] | StrictBool
    category: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("sensitivity")
    @classmethod
    def _as_text(cls, value):
        return str(value).lower() if isinstance(value, bool) else value


class LifecycleIn(WireModel):
    name: Lifecycle


class DataAgreementIn(WireModel):
    version: Annotated[str, Field(min_length=1, max_length=100)]
    controller: ControllerIn | None = None
    policy: Ref | None = None
    purpose: LongText
    lawful_basis: LawfulBasis
    data_use: DataUse | None = None
    dpia: Annotated[str, Field(max_length=20000)]
    active: StrictBool = True
    forgettable: StrictBool = False
    compatible_with_version: Ref | None = None
    lifecycle: LifecycleIn | Lifecycle = Lifecycle.complete
    data_attributes: Annotated[list[AttributeIn], Field(max_length=200)] = []

    @property
    def lifecycle_name(self) -> str:
        return (self.lifecycle.name if isinstance(self.lifecycle, LifecycleIn) else self.lifecycle).value


class DataAgreementBody(WireModel):
    data_agreement: DataAgreementIn


class IndividualIn(WireModel):
    external_id: Short | None = None
    external_id_type: Annotated[str, Field(max_length=100)] | None = None
    identity_provider_id: Short | None = None
    # Extension: the public JWK the individual signs consent with (registered by the citizen's own token), the
    # certificate the Identity BB issued for it when the citizen's wallet bound it (PEM), and the Identity BB's
    # attestation that the key is this citizen's (a key-binding+jwt, checked when the key is registered, not stored).
    public_key_jwk: dict[str, Any] | None = None
    public_key_certificate: Annotated[str, Field(max_length=20000)] | None = None
    key_binding_attestation: Annotated[str, Field(max_length=8000)] | None = None


class IndividualBody(WireModel):
    individual: IndividualIn


class ConsentRecordIn(WireModel):
    data_agreement_id: Id
    data_agreement_revision_id: Id
    data_agreement_revision_hash: Annotated[str, Field(min_length=1, max_length=128)]
    individual_id: Id
    opt_in: StrictBool


class ConsentRecordUpdate(WireModel):
    opt_in: StrictBool
    data_agreement_id: Id | None = None
    individual_id: Id | None = None


class ConsentRecordUpdateBody(WireModel):
    consent_record: ConsentRecordUpdate


class SignatureIn(WireModel):
    id: Id | None = None
    payload: Annotated[str, Field(max_length=200000)] | None = None
    signature: Annotated[str, Field(max_length=20000)] | None = None
    verification_method: Annotated[str, Field(max_length=50)] | None = None
    verification_payload: Annotated[str, Field(max_length=200000)] | None = None
    verification_payload_hash: Annotated[str, Field(max_length=128)] | None = None
    verification_artifact: Annotated[str, Field(max_length=200000)] | None = None
    verification_signed_by: Short | None = None
    verification_signed_as: Annotated[str, Field(pattern="^(individual|delegate)$")] | None = None
    verification_jws_header: Annotated[str, Field(max_length=20000)] | None = None
    timestamp: Annotated[str, Field(max_length=40)] | None = None
    signed_without_object_reference: StrictBool | None = None
    object_type: Annotated[str, Field(pattern="^(revision|signature)$")] | None = None
    object_reference: Id | None = None


class SignatureBody(WireModel):
    signature: SignatureIn


class ConsentRecordSignatureBody(WireModel):
    consent_record: ConsentRecordIn
    signature: SignatureIn


class WebhookIn(WireModel):
    payload_url: AnyHttpUrl
    content_type: Annotated[str, Field(pattern="^application/json$")] = "application/json"
    disabled: StrictBool = False
    secret_key: Annotated[str, Field(min_length=16, max_length=500)]
    # Extension: event names to receive; empty means every consent event.
    subscribed_events: list[Annotated[str, Field(pattern=r"^consent\.record\.(given|withdrawn)$")]] = []


class WebhookBody(WireModel):
    webhook: WebhookIn


# --- outgoing ---------------------------------------------------------------------------------------------------

def policy_wire(policy: Policy) -> dict:
    return {
        "id": policy.id, "name": policy.name, "version": policy.version, "url": policy.url,
        "jurisdiction": policy.jurisdiction, "industrySector": policy.industry_sector,
        "dataRetentionPeriodDays": policy.data_retention_period_days,
        "geographicRestriction": policy.geographic_restriction, "storageLocation": policy.storage_location,
    }


def controller_wire(agreement: DataAgreement) -> dict | None:
    if agreement.controller_name is None:
        return None
    return {"id": agreement.controller_id, "name": agreement.controller_name, "url": agreement.controller_url}


def attribute_wire(attribute: DataAgreementAttribute) -> dict:
    return {"id": attribute.id, "name": attribute.name, "description": attribute.description,
            "sensitivity": attribute.sensitivity, "category": attribute.category}


LIFECYCLE_IDS = {"Draft": "1", "Complete": "2"}  # the spec's seed ids


def agreement_wire(agreement: DataAgreement, *, policy: dict | None, attributes: list[DataAgreementAttribute]) -> dict:
    """`policy` is the policy as of the revision the agreement references."""
    return {
        "id": agreement.id, "version": agreement.version, "controller": controller_wire(agreement),
        "policy": policy, "purpose": agreement.purpose,
        "lawfulBasis": agreement.lawful_basis, "dataUse": agreement.data_use, "dpia": agreement.dpia,
        "active": agreement.active, "forgettable": agreement.forgettable,
        "compatibleWithVersion": {"id": agreement.compatible_with_version_id} if agreement.compatible_with_version_id else None,
        "lifecycle": {"id": LIFECYCLE_IDS[agreement.lifecycle], "name": agreement.lifecycle},
        "signature": {"id": agreement.signature_id} if agreement.signature_id else None,
        "dataAttributes": [attribute_wire(a) for a in attributes],
    }


def record_data(*, data_agreement_id: str, data_agreement_revision_id: str, data_agreement_revision_hash: str,
                individual_id: str, opt_in: bool, state: str) -> dict:
    """The fields of a consent record that its revisions snapshot (and so its signatures cover)."""
    return {"dataAgreementId": data_agreement_id, "dataAgreementRevisionId": data_agreement_revision_id,
            "dataAgreementRevisionHash": data_agreement_revision_hash, "individualId": individual_id,
            "optIn": opt_in, "state": state}


def record_snapshot_data(record: ConsentRecord) -> dict:
    return record_data(data_agreement_id=record.data_agreement_id, data_agreement_revision_id=record.data_agreement_revision_id,
                       data_agreement_revision_hash=record.data_agreement_revision_hash, individual_id=record.individual_id,
                       opt_in=record.opt_in, state=record.state)


def record_wire(record: ConsentRecord) -> dict:
    return {"id": record.id, **record_snapshot_data(record), "signatureId": record.signature_id}


def revision_wire(revision: Revision) -> dict:
    return {
        "id": revision.id, "schemaName": revision.schema_name, "objectId": revision.object_id,
        "signedWithoutObjectId": revision.signed_without_object_id, "serializedSnapshot": revision.serialized_snapshot,
        "serializedHash": revision.serialized_hash, "timestamp": revision.timestamp,
        "authorizedByIndividual": revision.authorized_by_individual_id, "authorizedByOther": revision.authorized_by_other,
        "successor": revision.successor_id, "predecessorHash": revision.predecessor_hash,
        "predecessorSignature": revision.predecessor_signature,
    }


def signature_wire(signature: Signature) -> dict:
    return {
        "id": signature.id, "payload": signature.payload, "signature": signature.signature,
        "verificationMethod": signature.verification_method, "verificationPayload": signature.verification_payload,
        "verificationPayloadHash": signature.verification_payload_hash, "verificationArtifact": signature.verification_artifact,
        "verificationSignedBy": signature.verification_signed_by, "verificationSignedAs": signature.verification_signed_as,
        "verificationJwsHeader": signature.verification_jws_header, "timestamp": signature.timestamp,
        "signedWithoutObjectReference": signature.signed_without_object_reference, "objectType": signature.object_type,
        "objectReference": signature.object_reference,
    }


def individual_wire(individual: Individual) -> dict:
    return {"id": individual.id, "externalId": individual.external_id, "externalIdType": individual.external_id_type,
            "identityProviderId": individual.identity_provider_id, "publicKeyJwk": individual.public_key_jwk,
            "publicKeyCertificate": individual.public_key_certificate}


def webhook_wire(webhook: Webhook, *, subscribed_events: list[str]) -> dict:
    return {"id": webhook.id, "payloadUrl": webhook.payload_url, "contentType": webhook.content_type,
            "disabled": webhook.disabled, "secretKey": webhook.secret_key, "subscribedEvents": subscribed_events}
