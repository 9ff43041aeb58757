"""Enrolment (enrollment.yaml): PUT /enrollment, single-step with finalize or multi-step; plus a lookup of one enrolment
and a search of the uncommitted ones (spec 6.2; enrollment.yaml defines no search, so its shape is ours)."""
import time
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from kernel.auth import require
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import enrollment as enrolments
from identity import tokens
from identity.models import Enrollment, Person
from identity.schemas import enrollment_envelope

router = APIRouter(tags=["Enrollment"])
ENROLMENT_STAFF = require(roles=("admin", "operator"), scopes=("enrollment",))
_STATUS = {"invalid_request": 400, "missing_input": 400, "invalid_uin": 400, "enrollment_completed": 409}


def _packet_info(request: Request, uow, enrollment: Enrollment) -> dict:
    digest = enrolments.packet_digest(enrollment)
    # Integrity and origin: the packet hash, signed with the provider's current key (verifiable with the JWKS).
    signature = tokens.sign(uow.session, request.app.state.settings,
                            {"iss": request.app.state.settings.issuer, "enrollment": enrollment.id, "hash": digest, "iat": int(time.time())})
    return {
        "id": enrollment.id, "packetName": f"{enrollment.id}-{enrollment.process.lower()}", "source": enrollment.source,
        "process": enrollment.process, "refId": enrollment.ref_id, "schemaVersion": "1.0", "signature": signature,
        "encryptedHash": digest, "providerName": "govstack-identity", "providerVersion": "1.0",
        "creationDate": enrollment.created_at.isoformat(),
    }


@router.put("/enrollment", dependencies=[ENROLMENT_STAFF])
def put_enrollment(request: Request, uow: UowDep, body: Any = Body(None)):
    request_id = body.get("id") if isinstance(body, dict) and isinstance(body.get("id"), str) else "govstack.enrollment"
    try:
        enrollment, created = enrolments.submit(uow, body)
        uow.session.flush()
        info = _packet_info(request, uow, enrollment)
        uow.commit()
    except enrolments.Invalid as invalid:
        return JSONResponse(enrollment_envelope(None, [(invalid.code, invalid.message)], request_id=request_id),
                            status_code=_STATUS.get(invalid.code, 400))
    return JSONResponse(enrollment_envelope([info], request_id=request_id), status_code=201 if created else 200)


def _search_item(enrollment: Enrollment) -> dict:
    # Ids, state and times only: the personal field values stay behind GET /enrollment/{id}.
    return {"id": enrollment.id, "status": enrollment.status, "process": enrollment.process, "source": enrollment.source,
            "refId": enrollment.ref_id, "creationDate": enrollment.created_at.isoformat(),
            "updatedDate": enrollment.updated_at.isoformat()}


@router.get("/enrollment", dependencies=[ENROLMENT_STAFF])
def search_enrollments(uow: UowDep, status: str | None = Query(None), process: str | None = Query(None),
                       source: str | None = Query(None), created_from: str | None = Query(None, alias="createdFrom"),
                       created_to: str | None = Query(None, alias="createdTo"), offset: str | None = Query(None),
                       limit: str | None = Query(None)):
    """Uncommitted (pending) enrolments, oldest first, paged by offset and limit; metaData gives the total."""
    request_id = "govstack.enrollment.search"
    try:
        query = enrolments.search_query(status=status, process=process, source=source, created_from=created_from,
                                        created_to=created_to, offset=offset, limit=limit)
    except enrolments.Invalid as invalid:
        return JSONResponse(enrollment_envelope(None, [(invalid.code, invalid.message)], request_id=request_id), status_code=400)
    page, total = enrolments.search_uncommitted(uow.session, query)
    return enrollment_envelope([_search_item(e) for e in page], request_id=request_id,
                               meta_data={"offset": query.offset, "limit": query.limit, "total": total})


@router.get("/enrollment/{enrollment_id}", dependencies=[ENROLMENT_STAFF])
def get_enrollment(enrollment_id: str, uow: UowDep) -> dict:
    """Search by id: status and, once completed, the person and UIN it produced."""
    enrollment = uow.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise ApiError(404, "not_found", "No enrolment with this id.")
    person = uow.session.get(Person, enrollment.person_id) if enrollment.person_id else None
    return {"id": enrollment.id, "process": enrollment.process, "status": enrollment.status, "fields": enrollment.fields,
            "personId": enrollment.person_id, "uin": person.uin if person else None}
