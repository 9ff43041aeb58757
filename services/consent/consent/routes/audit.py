"""Audit: read-only lists, histories and chain checks for the data processing auditor (role `auditor`)."""
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from consent import revisions, signing
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
    return {"consentRecords": [record_wire(r) for r in found]}


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


@router.get("/audit/verify/")
def audit_verify(request: Request, uow: UowDep, caller: Auditor, schema_name: SchemaParam = None, object_id: ObjectParam = None) -> dict:
    """Check revision chains (one object, one schema or all); each broken chain names its first broken revision."""
    service_key = signing.service_key(request.app.state.settings.signing_key_path)
    if object_id is not None:
        if schema_name is None:
            raise ApiError(400, "bad_request", "objectId needs schemaName.")
        reports = [revisions.verify_object(uow.session, schema_name=schema_name.value, object_id=object_id, service_key=service_key)]
    else:
        reports = revisions.verify_all(uow.session, schema_name=schema_name.value if schema_name else None, service_key=service_key)
    broken = [r.as_wire() for r in reports if not r.valid]
    return {"valid": not broken, "checkedChains": len(reports), "broken": broken}
