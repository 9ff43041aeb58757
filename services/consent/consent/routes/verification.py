"""Verification: may data be used? For data consumers and the gateway (role `verifier`)."""
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from sqlalchemy import and_, bindparam
from sqlmodel import col, select

from consent import revisions
from consent.enums import RecordState, SchemaName
from consent.models import ConsentRecord, DataAgreement
from consent.read_engine import read_one
from consent.routes.deps import VERIFIER_ROLES, PageDep, Verifier, id_path, not_found, query_id
from consent.schemas import ID_PATTERN, record_wire, revision_wire
from kernel.auth import authenticated
from kernel.db import UowDep
from kernel.errors import ApiError

router = APIRouter(tags=["service"])
_ID = re.compile(ID_PATTERN)
RecordId = id_path("consentRecordId")


# Built once: the agreement by primary key, joined to the record through the (individual, agreement revision) unique index.
_VALID_CONSENT = (
    select(DataAgreement.current_revision_id, ConsentRecord.id)
    .outerjoin(ConsentRecord, and_(ConsentRecord.individual_id == bindparam("individual_id"),
                                   ConsentRecord.data_agreement_revision_id == DataAgreement.current_revision_id,
                                   col(ConsentRecord.opt_in).is_(True), ConsentRecord.state == RecordState.signed.value))
    .where(DataAgreement.id == bindparam("data_agreement_id"), col(DataAgreement.deleted).is_(False))
)


def _consent_check(request: Request, individual_id: str | None, data_agreement_id: str | None) -> dict:
    """Token, role and query in one worker thread: as dependencies they took three thread hops per call."""
    caller = authenticated(request)  # before the parameters: an anonymous caller learns nothing, not even what is valid
    if not caller.has_any_role(VERIFIER_ROLES):
        raise ApiError(403, "forbidden", "The token does not grant this operation.")
    bad = [{"field": name, "reason": "required, and must be an id"}
           for name, value in (("individualId", individual_id), ("dataAgreementId", data_agreement_id))
           if value is None or not _ID.fullmatch(value)]
    if bad:
        raise ApiError(400, "invalid_request", "The request is not valid.", details=bad)
    row = read_one(request.app.state.read_engine, _VALID_CONSENT, {"individual_id": individual_id, "data_agreement_id": data_agreement_id})
    if row is None:
        raise not_found("data agreement")
    revision_id, record_id = row
    return {"valid": record_id is not None, "consentRecordId": record_id, "individualId": individual_id,
            "dataAgreementId": data_agreement_id, "dataAgreementRevisionId": revision_id}


@router.get("/service/verification/consent-record/")
async def service_verification_consent_check(request: Request,
                                             individual_id: Annotated[str | None, Query(alias="individualId")] = None,
                                             data_agreement_id: Annotated[str | None, Query(alias="dataAgreementId")] = None) -> JSONResponse:
    """The gateway's fast path (role `verifier` or `admin`): is there an opted-in, signed record of this individual at the
    agreement's current revision?

    Profiled under load, so lean on purpose: one indexed query in autocommit on the read pool (one round trip instead
    of ping, query and rollback), no ORM session or unit of work since nothing is written, one thread hop, and the body
    built directly rather than validated through a response model.
    """
    return JSONResponse(await run_in_threadpool(_consent_check, request, individual_id, data_agreement_id))


@router.get("/service/verification/consent-records/")
def service_verification_consent_record_list(uow: UowDep, caller: Verifier, page: PageDep, id: query_id("id") = None,
                                             individual_id: Annotated[str | None, Query(alias="individualId", pattern=ID_PATTERN)] = None,
                                             data_agreement_id: Annotated[str | None, Query(alias="dataAgreementId", pattern=ID_PATTERN)] = None,
                                             opt_in: Annotated[bool | None, Query(alias="optIn")] = None) -> dict:
    """The ConsentRecordFilter the spec announces: id, individual, agreement, optIn."""
    query = select(ConsentRecord)
    if id:
        query = query.where(ConsentRecord.id == id)
    if individual_id:
        query = query.where(ConsentRecord.individual_id == individual_id)
    if data_agreement_id:
        query = query.where(ConsentRecord.data_agreement_id == data_agreement_id)
    if opt_in is not None:
        query = query.where(ConsentRecord.opt_in == opt_in)
    found = uow.session.exec(query.order_by(col(ConsentRecord.created_at)).offset(page.offset).limit(page.limit)).all()
    return {"consentRecords": [record_wire(r) for r in found]}


@router.get("/service/verification/consent-record/{consentRecordId}/")
def service_verification_consent_record_read(record_id: RecordId, uow: UowDep, caller: Verifier) -> dict:
    record = uow.session.get(ConsentRecord, record_id)
    if record is None:
        raise not_found("consent record")
    revision = revisions.latest(uow.session, schema_name=SchemaName.consent_record.value, object_id=record.id)
    return {"consentRecord": record_wire(record), "revision": revision_wire(revision) if revision else None}
