"""Verification: may data be used? For data consumers and the gateway (role `verifier`)."""
import json
import re
import time
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from sqlalchemy import and_, bindparam
from sqlmodel import col, select

from consent import revisions
from consent.enums import RecordState, SchemaName
from consent.errors import set_accept_language
from consent.field_reasons import field_reason
from consent.models import ConsentRecord, DataAgreement
from consent.routes.deps import VERIFIER_ROLES, PageDep, Verifier, id_path, not_found, query_id
from consent.schemas import ID_PATTERN, record_wire, revision_wire
from consent.verification_index import VerificationIndex
from kernel.auth import Caller, authenticated, bearer_token
from kernel.db import UowDep, read_one
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


class VerifiedTokens:
    """Callers by bearer token, until the token expires (at most `seconds`): the gateway sends one token for many calls,
    and checking its signature was the largest cost of a call the index answers."""

    def __init__(self, *, seconds: float, max_entries: int = 10_000):
        self.seconds, self.max_entries = seconds, max_entries
        self._callers: dict[str, tuple[Caller, float]] = {}

    def get(self, token: str) -> Caller | None:
        entry = self._callers.get(token)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def put(self, token: str, caller: Caller) -> None:
        expires = min(float(caller.claims.get("exp") or 0), time.time() + self.seconds)
        if len(self._callers) >= self.max_entries:
            self._callers.clear()
        self._callers[token] = (caller, expires)


def _authorize(caller: Caller) -> None:
    if not caller.has_any_role(VERIFIER_ROLES):
        raise ApiError(403, "forbidden", "The token does not grant this operation.")


def _checked_ids(individual_id: str | None, data_agreement_id: str | None) -> None:
    bad = [{"field": name, "reason": field_reason("id")}
           for name, value in (("individualId", individual_id), ("dataAgreementId", data_agreement_id))
           if value is None or not _ID.fullmatch(value)]
    if bad:
        raise ApiError(400, "invalid_request", "The request is not valid.", details=bad)


def _read_answer(request: Request, individual_id: str, data_agreement_id: str) -> bytes:
    """The answer from the database (in a worker thread), stored in the index unless a change came in meanwhile."""
    index: VerificationIndex = request.app.state.verification_index
    generation = index.generation
    row = read_one(request.app.state.read_engine, _VALID_CONSENT, {"individual_id": individual_id, "data_agreement_id": data_agreement_id})
    if row is None:
        raise not_found("data agreement")  # not stored: unknown ids must not fill the index
    revision_id, record_id = row
    body = json.dumps({"valid": record_id is not None, "consentRecordId": record_id, "individualId": individual_id,
                       "dataAgreementId": data_agreement_id, "dataAgreementRevisionId": revision_id}, separators=(",", ":")).encode()
    index.put(individual_id, data_agreement_id, body, generation=generation)
    return body


def _verified_caller(request: Request) -> Caller:
    caller = authenticated(request)
    request.app.state.verified_tokens.put(bearer_token(request), caller)
    return caller


def _raw_bearer_token(scope) -> str | None:
    """The bearer token straight from the ASGI headers (the profile showed Starlette's header and query objects)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _query_ids(scope) -> tuple[str | None, str | None]:
    """individualId and dataAgreementId from the query string (the last of each, as Starlette reads them; ids need no
    unquoting, anything else is unquoted so that it is checked as sent)."""
    found: dict[str, str] = {}
    for pair in scope["query_string"].decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if name in ("individualId", "dataAgreementId"):
            found[name] = unquote_plus(value) if "%" in value or "+" in value else value
    return found.get("individualId"), found.get("dataAgreementId")


async def verify_consent(request: Request) -> Response:
    """GET /service/verification/consent-record/ as a plain Starlette endpoint (no dependency solving, no response model):
    with the token and the answer known to this worker it runs without a database round trip or a thread hop."""
    set_accept_language(request.scope)  # for error answers: served ahead of the stack, it misses AcceptLanguageMiddleware
    token = _raw_bearer_token(request.scope)
    caller = request.app.state.verified_tokens.get(token) if token else None
    if caller is None:  # the token check may fetch the issuer's keys: a blocking call, so in a worker thread
        caller = await run_in_threadpool(_verified_caller, request)
    _authorize(caller)  # before the parameters: an anonymous or unentitled caller learns nothing, not even what is valid
    individual_id, data_agreement_id = _query_ids(request.scope)
    _checked_ids(individual_id, data_agreement_id)
    body = request.app.state.verification_index.get(individual_id, data_agreement_id)
    if body is None:
        body = await run_in_threadpool(_read_answer, request, individual_id, data_agreement_id)
    return Response(body, media_type="application/json")


@router.get("/service/verification/consent-record/")
async def service_verification_consent_check(request: Request,
                                             individual_id: Annotated[str | None, Query(alias="individualId")] = None,
                                             data_agreement_id: Annotated[str | None, Query(alias="dataAgreementId")] = None) -> Response:
    """The gateway's fast path (role `verifier` or `admin`): is there an opted-in, signed record of this individual at the
    agreement's current revision? Answers {valid, consentRecordId, individualId, dataAgreementId, dataAgreementRevisionId}.

    Documented here; app.py serves it with `verify_consent` in front of the FastAPI routes, from the in-process index
    (verification_index.py) when it can, else with one indexed query in autocommit on the read pool.
    """
    return await verify_consent(request)


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
