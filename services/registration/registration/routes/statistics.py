"""GovStack statistics, counted from operators' real decisions ("allows anyone to see service statistics")."""
from datetime import date, datetime, time, timedelta, timezone

from fastapi import APIRouter, Request
from sqlmodel import select

from kernel.auth import authenticated
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import design, designer, processing
from registration.models import ServiceDefinition
from registration.routes.deps import IMClient, Utf8JSONResponse

router = APIRouter(tags=["statistics"], default_response_class=Utf8JSONResponse)

TIMEFRAMES = {"day": 0, "week": 6, "month": 29, "year": 364}  # days before today that a window without startDate reaches back


def _date(request: Request, name: str) -> date | None:
    # Starlette keeps the last of repeated parameters; the GovStack suite sends each one twice.
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid_date", f"{name} must be a date (YYYY-MM-DD).", details=[{"field": name, "reason": "must be YYYY-MM-DD"}])


def _services_of_registration(uow: UowDep, name: str) -> list[str]:
    found = []
    for service in uow.session.exec(select(ServiceDefinition).where(ServiceDefinition.published_version.is_not(None))):
        if name in design.registration_names(designer.published_document(uow, service=service) or {}):
            found.append(service.id)
    return found


STAFF_ROLES = ("admin", "operator", "auditor", "designer")


def operator_counts_need_staff(request: Request) -> None:
    """Counts per service, registration or role are open, as the spec says; counts of one named operator are staff
    performance data, readable only by staff roles or a statistics.read scope."""
    if not request.query_params.get("operator"):
        return
    caller = authenticated(request)
    if not (caller.has_any_role(STAFF_ROLES) or caller.has_any_scope(("statistics.read",))):
        raise ApiError(403, "forbidden", "Counts of a named operator are readable by staff only.")


@router.get("/data/statistics", dependencies=[IMClient])
@router.get("/data/statistics/1.0", dependencies=[IMClient], include_in_schema=False)  # the path GovStack's suite calls
def get_statistics(request: Request, uow: UowDep) -> list[dict]:
    operator_counts_need_staff(request)
    params = request.query_params
    start, end = _date(request, "startDate"), _date(request, "endDate")
    timeframe = params.get("timeframe") or ""
    if timeframe and timeframe not in TIMEFRAMES:
        raise ApiError(400, "invalid_timeframe", "timeframe must be day, week, month or year.", details=[{"field": "timeframe", "reason": "must be day, week, month or year"}])
    if start and end and start > end:
        raise ApiError(400, "invalid_range", "startDate is after endDate.", details=[{"field": "startDate", "reason": "after endDate"}])
    window_end = end or (datetime.now(timezone.utc).date() if timeframe else None)
    try:  # a window reaching past year 1 or 9999 cannot be computed: the caller's dates are out of range
        window_start = start or (window_end - timedelta(days=TIMEFRAMES[timeframe]) if timeframe else None)
        since = datetime.combine(window_start, time.min, tzinfo=timezone.utc) if window_start else None
        until = datetime.combine(window_end + timedelta(days=1), time.min, tzinfo=timezone.utc) if window_end else None
    except OverflowError:
        raise ApiError(400, "invalid_range", "The dates reach outside the calendar (years 1 to 9999).",
                       details=[{"field": "endDate", "reason": "out of range for this window"}])

    registration = params.get("registrationName") or ""
    service_ids = None
    if registration:
        service_ids = _services_of_registration(uow, registration)
        if not service_ids:
            raise ApiError(404, "registration_not_found", "No registration has this name.")
    counts = processing.decisions_between(
        uow, service_ids=service_ids, operator=params.get("operator") or None, role=params.get("role") or None,
        start=since, end=until,
    )
    return [{
        "processed": sum(counts.values()), "approved": counts.get("approve", 0), "sentBack": counts.get("send_back", 0),
        "rejected": counts.get("reject", 0),
        "references": {
            "startDate": window_start.isoformat() if window_start else "", "endDate": window_end.isoformat() if window_end else "",
            "registrationName": registration, "operator": params.get("operator") or "", "role": params.get("role") or "",
            **{f"timeframe{name.title()}": timeframe == name for name in TIMEFRAMES},
        },
    }]
