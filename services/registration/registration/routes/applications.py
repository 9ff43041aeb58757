"""GovStack application files (submit, list, get, update) and our applicant drafts, whose removed uploads are deleted."""
from datetime import datetime, timezone

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, designer, integration, processing, schemas, uploads
from registration.models import ApplicationFile, FileHistory
from registration.routes.deps import (CurrentService, FirstResult, IMClient, SettingsDep, Utf8JSONResponse, body_or_error, given,
                                      json_field, language, text_field)

router = APIRouter(tags=["applications"], default_response_class=Utf8JSONResponse)

_SORT_COLUMNS = {"created": ApplicationFile.created, "registered": ApplicationFile.registered, "status": ApplicationFile.status,
                 "applicationName": ApplicationFile.application_name, "serviceId": ApplicationFile.service_id}


def _published(uow, service) -> dict:
    document = designer.published_document(uow, service=service)
    if document is None:
        raise ApiError(404, "service_not_found", "No published service has this id.")
    return document


def _apply_submission(file: ApplicationFile, body: dict, request: Request) -> None:
    """Copy an applicationFileSubmit body onto a file; the applicant is always the token's subject, never the body's."""
    form_data = json_field(body, "formData", {}, dict)
    if "data" in form_data:
        file.form_data = json_field(form_data, "data", {}, dict)
    if "eFormId" in form_data or "eFormId" in body:
        file.eform_id = text_field(form_data, "eFormId", field="formData.eFormId") or text_field(body, "eFormId")
    if "documentUrls" in body:
        urls = json_field(body, "documentUrls", [], list)
        file.document_urls = [text_field({"url": url}, "url", field=f"documentUrls[{index}]") for index, url in enumerate(urls)]
    if "applicationName" in body:
        file.application_name = text_field(body, "applicationName")[:300]
    if "created" in body and body["created"]:
        file.created = _client_moment(body["created"], field="created")
    file.language = (text_field(body, "language") or language(request))[:10]


# The range of client-given date-times: far inside what every time zone, the database and the replies can represent
# (a year-1 or year-9999 value overflowed only when shown back, after the file was stored).
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)


def _client_moment(value, *, field: str) -> datetime:
    """An ISO 8601 date-time from the client, in UTC (one without an offset is taken as UTC), or a 400 naming the field."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        if moment is not None:
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or not _EARLIEST <= moment < _LATEST:
        raise ApiError(400, "malformed_body", f"{field} is not a date-time between 1900 and 2099.",
                       details=[{"field": field, "reason": "must be an ISO 8601 date-time between 1900 and 2099"}])
    return moment


def _new_file(service, caller) -> ApplicationFile:
    return ApplicationFile(service_id=service.id, applicant_id=caller.subject, status="DRAFT")


@router.post("/services/{service_id}/applications", dependencies=[IMClient])
async def submit_application(request: Request, service: CurrentService, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_submit_application, request, service, uow, caller, settings, body)


def _submit_application(request: Request, service, uow, caller, settings, body: dict | ApiError) -> dict:
    document = _published(uow, service)
    body = given(body)
    file = _new_file(service, caller)
    _apply_submission(file, body, request)
    integration.require_citizen(settings, document=document, caller=caller)
    uow.session.add(file)
    processing.submit(uow, service=service, service_version=service.published_version, document=document, file=file, caller=caller)
    integration.require_consent(settings, document=document, caller=caller)  # after the local checks; refused: nothing is committed
    # The answer is built before the commit: a failure after it would tell the client to retry a stored application.
    view = access.file_view(uow, file_id=file.id, caller=caller, admin_roles=settings.admin_roles)
    answer = schemas.file_out(view, uow, lang=language(request))
    uow.commit()
    return answer


@router.get("/applications", dependencies=[IMClient])
def list_applications(request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep, serviceId: str | None = None,
                      applicantId: str | None = None, firstResult: FirstResult = 0, maxResult: int = 100, sortBy: str = "registered",
                      sortOrder: str = "desc") -> list[dict]:
    operated = access.operated_services(uow, caller=caller, admin_roles=settings.admin_roles)
    visible = ApplicationFile.applicant_id == caller.subject
    if operated:
        visible = visible | ApplicationFile.service_id.in_(list(operated))
    query = select(ApplicationFile).where(visible, ApplicationFile.status != "DRAFT")
    if serviceId is not None:
        query = query.where(ApplicationFile.service_id == serviceId)
    if applicantId is not None:
        query = query.where(ApplicationFile.applicant_id == applicantId)
    column = _SORT_COLUMNS.get(sortBy, ApplicationFile.registered)
    query = query.order_by(column.asc() if sortOrder.lower() == "asc" else column.desc(), ApplicationFile.id)
    query = query.offset(max(firstResult, 0)).limit(min(max(maxResult, 0), 500))
    lang = language(request)
    items = []
    for file in uow.session.exec(query):
        view = access.file_view(uow, file_id=file.id, caller=caller, admin_roles=settings.admin_roles)
        items.append(schemas.file_list_item(view, uow, access.current_task(uow, file=file), lang))
    return items


@router.get("/applications/{file_id}", dependencies=[IMClient])
def get_application(file_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
    return schemas.file_out(view, uow, lang=language(request), with_history=True)


@router.put("/applications/{file_id}", dependencies=[IMClient])
async def update_application(file_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_update_application, file_id, request, uow, caller, settings, body)


def _update_application(file_id: str, request: Request, uow, caller, settings, body: dict | ApiError) -> dict:
    """An operator adds processing data; the applicant corrects a file that was sent back, which resubmits it."""
    view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
    body = given(body)
    file = view.file
    if view.is_applicant:
        _apply_submission(file, body, request)
        integration.require_citizen(settings, document=view.document, caller=caller)
        processing.resubmit(uow, document=view.document, file=file, caller=caller)
        integration.require_consent(settings, document=view.document, caller=caller)
    else:
        if file.ended:
            raise ApiError(409, "file_ended", "Processing of this file has ended.")
        form_data = json_field(body, "formData", {}, dict)
        file.processing_data = {**file.processing_data, **json_field(form_data, "data", {}, dict)}
        uow.session.add(file)
        processing.history(uow, file=file, action="updated", actor=caller.subject, role_id=view.roles[0]["id"])
    answer = schemas.file_out(view, uow, lang=language(request))  # before the commit, as on submission
    uow.commit()
    return answer


# --- drafts: ours, for the applicant's wizard (save, resume, delete, then submit with explicit confirmation) ---

@router.post("/services/{service_id}/drafts", status_code=201)
async def save_new_draft(request: Request, service: CurrentService, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_save_new_draft, request, service, uow, caller, settings, body)


def _save_new_draft(request: Request, service, uow, caller, settings, body: dict | ApiError) -> dict:
    _published(uow, service)
    file = _new_file(service, caller)
    _apply_submission(file, given(body), request)
    uow.session.add(file)
    processing.history(uow, file=file, action="saved", actor=caller.subject)
    answer = _draft_out(uow, file.id, caller, settings, request)  # before the commit, as on submission
    uow.commit()
    return answer


def _draft(uow, draft_id: str, caller, settings) -> ApplicationFile:
    view = access.file_view(uow, file_id=draft_id, caller=caller, admin_roles=settings.admin_roles, include_drafts=True)
    if view.file.status != "DRAFT" or not view.is_applicant:
        raise ApiError(404, "draft_not_found", "You have no draft with this id.")
    return view.file


def _draft_out(uow, draft_id, caller, settings, request) -> dict:
    view = access.file_view(uow, file_id=draft_id, caller=caller, admin_roles=settings.admin_roles, include_drafts=True)
    return schemas.file_out(view, uow, lang=language(request))


@router.get("/drafts")
def list_drafts(request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> list[dict]:
    query = select(ApplicationFile).where(ApplicationFile.applicant_id == caller.subject, ApplicationFile.status == "DRAFT")
    return [_draft_out(uow, f.id, caller, settings, request) for f in uow.session.exec(query.order_by(ApplicationFile.created.desc()))]


@router.get("/drafts/{draft_id}")
def get_draft(draft_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    _draft(uow, draft_id, caller, settings)
    return _draft_out(uow, draft_id, caller, settings, request)


@router.put("/drafts/{draft_id}")
async def save_draft(draft_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_save_draft, draft_id, request, uow, caller, settings, body)


def _save_draft(draft_id: str, request: Request, uow, caller, settings, body: dict | ApiError) -> dict:
    """Save the applicant's changes; uploads taken off the draft (removed or replaced) are deleted unless held elsewhere."""
    file = _draft(uow, draft_id, caller, settings)
    listed_before = _listed_ids(file)
    _apply_submission(file, given(body), request)
    uow.session.add(file)
    processing.history(uow, file=file, action="saved", actor=caller.subject)
    removed = uploads.release(uow, owner_id=caller.subject, document_ids=listed_before - _listed_ids(file))
    answer = _draft_out(uow, draft_id, caller, settings, request)  # before the commit, as on submission
    uow.commit()
    uploads.unlink(settings, removed)
    return answer


def _listed_ids(file: ApplicationFile) -> set[str]:
    return {processing.document_id_from_url(url) for url in file.document_urls}


@router.delete("/drafts/{draft_id}", status_code=204)
def delete_draft(draft_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> Response:
    """The draft goes with its uploads, unless another draft of the applicant lists them too."""
    file = _draft(uow, draft_id, caller, settings)
    listed = _listed_ids(file)
    for row in uow.session.exec(select(FileHistory).where(FileHistory.file_id == file.id)):
        uow.session.delete(row)
    uow.session.flush()
    uow.session.delete(file)
    removed = uploads.release(uow, owner_id=caller.subject, document_ids=listed)
    uow.commit()
    uploads.unlink(settings, removed)
    return Response(status_code=204)


@router.post("/drafts/{draft_id}/submit")
async def submit_draft(draft_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_submit_draft, draft_id, request, uow, caller, settings, body)


def _submit_draft(draft_id: str, request: Request, uow, caller, settings, body: dict | ApiError) -> dict:
    file = _draft(uow, draft_id, caller, settings)
    body = given(body)
    if body.get("confirm") not in (True, "true"):
        raise ApiError(400, "confirmation_required", "Submitting needs the applicant's explicit confirmation.",
                       details=[{"field": "confirm", "reason": "must be true"}])
    service = designer.get_or_raise(uow, service_id=file.service_id)
    document = _published(uow, service)
    integration.require_citizen(settings, document=document, caller=caller)
    processing.submit(uow, service=service, service_version=service.published_version, document=document, file=file, caller=caller)
    integration.require_consent(settings, document=document, caller=caller)
    view = access.file_view(uow, file_id=file.id, caller=caller, admin_roles=settings.admin_roles)
    answer = schemas.file_out(view, uow, lang=language(request))  # before the commit, as on submission
    uow.commit()
    return answer
