"""Audit: read-only lists, histories and chain checks for the data processing auditor (role `auditor`)."""
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from consent import integrity, revisions, seal, signing
from consent.enums import SchemaName
from consent.models import ConsentRecord, DataAgreement
from consent.routes.agreements import list_agreements
from consent.routes.deps import Auditor, PageDep, id_path, not_found
from consent.schemas import ID_PATTERN, record_wire, revision_wire
from kernel.db import UowDep
from kernel.errors import ApiError

router = APIRouter(tags=["auditor"])
RecordId = id_path("consentRecordId")
AgreementId = id_path("dataAgreementId")
SchemaParam = Annotated[SchemaName | None, Query(alias="schemaName")]
ObjectParam = Annotated[str | None, Query(alias="objectId", pattern=ID_PATTERN)]


def _history(uow, schema: SchemaName, object_id: str) -> list[dict]:
    return [revision_wire(r) for r in revisions.history(uow.session, schema_name=schema.value, object_id=object_id)]


@router.get("/audit/consent-records/")
def audit_consent_record_list(uow: UowDep, caller: Auditor, page: PageDep,
                              individual_id: Annotated[str | None, Query(alias="individualId", pattern=ID_PATTERN)] = None,
                              data_agreement_id: Annotated[str | None, Query(alias="dataAgreementId", pattern=ID_PATTERN)] = None) -> dict:
    query = select(ConsentRecord)
    if individual_id:
        query = query.where(ConsentRecord.individual_id == individual_id)
    if data_agreement_id:
        query = query.where(ConsentRecord.data_agreement_id == data_agreement_id)
    found = uow.session.exec(query.order_by(col(ConsentRecord.created_at)).offset(page.offset).limit(page.limit)).all()
    # createdAt is not in the spec's ConsentRecord; the list is ordered by it, and auditors are asked "since when".
    return {"consentRecords": [{**record_wire(r), "createdAt": r.created_at.isoformat()} for r in found]}


@router.get("/audit/consent-record/{consentRecordId}/")
def audit_consent_record_read(record_id: RecordId, uow: UowDep, caller: Auditor) -> dict:
    record = uow.session.get(ConsentRecord, record_id)
    if record is None:
        raise not_found("consent record")
    return {"consentRecord": record_wire(record), "revisions": _history(uow, SchemaName.consent_record, record.id)}


@router.get("/audit/data-agreements/")
def audit_data_agreement_list(uow: UowDep, caller: Auditor, page: PageDep) -> dict:
    return {"dataAgreements": list_agreements(uow, caller, page)}


@router.get("/audit/data-agreement/{dataAgreementId}/")
def audit_data_agreement_read(agreement_id: AgreementId, uow: UowDep, caller: Auditor) -> dict:
    agreement = uow.session.get(DataAgreement, agreement_id)  # deleted agreements stay auditable
    if agreement is None:
        raise not_found("data agreement")
    return {"dataAgreement": revisions.agreement_data(uow.session, agreement),
            "revisions": _history(uow, SchemaName.data_agreement, agreement.id)}


@router.get("/audit/revisions/")
def audit_revision_list(uow: UowDep, caller: Auditor, schema_name: Annotated[SchemaName, Query(alias="schemaName")],
                        object_id: Annotated[str, Query(alias="objectId", pattern=ID_PATTERN)]) -> dict:
    return {"revisions": _history(uow, schema_name, object_id)}


class CheckpointBody(BaseModel):
    """A checkpoint as GET /audit/checkpoint/ (or `python -m consent.audit checkpoint`) gave it."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: dict[str, Any]
    signature: str


def _verify(request: Request, uow, schema_name: SchemaName | None, object_id: str | None, checkpoint: dict | None = None) -> dict:
    service_key = signing.service_key(request.app.state.settings.signing_key_path)
    keys = seal.trusted_keys(uow.session)
    expected = None
    if checkpoint is not None:
        try:
            expected = integrity.open_checkpoint(checkpoint, keys)
        except integrity.CheckpointInvalid as exc:
            raise ApiError(400, "invalid_checkpoint", str(exc))
    if object_id is not None:
        if schema_name is None:
            raise ApiError(400, "bad_request", "objectId needs schemaName.")
        reports = [integrity.verify_object(uow.session, schema_name=schema_name.value, object_id=object_id, keys=keys,
                                           service_key=service_key, checkpoint=expected)]
    else:
        reports = integrity.verify_all(uow.session, schema_name=schema_name.value if schema_name else None, keys=keys,
                                       service_key=service_key, checkpoint=expected)
    broken = [r.as_wire() for r in reports if not r.valid]
    return {"valid": not broken, "checkedChains": len(reports), "broken": broken}


@router.get("/audit/verify/")
def audit_verify(request: Request, uow: UowDep, caller: Auditor, schema_name: SchemaParam = None, object_id: ObjectParam = None) -> dict:
    """Check revision chains (one object, one schema or all): hashes, links, seals, signatures, the agreement revision each
    consent names, and each row against its latest revision; each broken chain names its first broken revision."""
    return _verify(request, uow, schema_name, object_id)


@router.post("/audit/verify/")
def audit_verify_against_checkpoint(request: Request, body: CheckpointBody, uow: UowDep, caller: Auditor,
                                    schema_name: SchemaParam = None, object_id: ObjectParam = None) -> dict:
    """As GET, and also against a checkpoint kept from earlier: a chain that lost revisions since is reported, which
    nothing left in the database can show. Read-only."""
    return _verify(request, uow, schema_name, object_id, body.model_dump())


@router.get("/audit/checkpoint/")
def audit_checkpoint(uow: UowDep, caller: Auditor, schema_name: SchemaParam = None) -> dict:
    """Every chain's latest revision (id, number, hash), signed with the audit key: keep it, and give it to POST
    /audit/verify/ later."""
    signed = integrity.checkpoint(uow.session, revisions.audit_key(uow.session), schema_name=schema_name.value if schema_name else None)
    uow.commit()  # nothing changes, unless this made the first audit key (it is made at start-up)
    return signed


@router.get("/audit/keys/")
def audit_keys(uow: UowDep, caller: Auditor) -> dict:
    """The public JWKS of the audit keys (those that open with AUDIT_KEY_SECRET), to verify seals and checkpoints with
    `python -m consent.audit verify --trusted-keys` without the secret."""
    return seal.public_keys(uow.session)
