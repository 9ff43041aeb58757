"""Wire shapes of the registration API, mirroring its GovStack OpenAPI document (camelCase, string ids)."""
from datetime import datetime, timezone

from sqlmodel import select

from kernel.db import UnitOfWork
from registration import design
from registration.access import FileView, attached_documents
from registration.models import FileHistory, Task
from registration.processing import STATUS_TITLES, document_id_from_url, task_name


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive datetimes; all are stored in UTC
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def status(code: str) -> dict:
    return {"code": code, "title": STATUS_TITLES.get(code, code.title())}


def file_out(view: FileView, uow: UnitOfWork, *, lang: str, with_history: bool = False) -> dict:
    file = view.file
    body = {
        "fileId": file.id, "registered": iso(file.registered), "serviceId": file.service_id,
        "serviceName": design.text(view.document.get("name"), lang), "status": status(file.status), "ended": file.ended,
        "applicationData": {
            "applicationName": file.application_name, "applicantId": file.applicant_id, "created": iso(file.created),
            "formData": {"data": view.form_data(), "eFormId": file.eform_id}, "documentUrls": view.document_urls(uow),
        },
    }
    if file.registration_number:
        body["registrationNumber"] = file.registration_number
    # Our extensions: the fees owed, when processing should end, and what the applicant must fix after a send-back.
    body["fees"] = dict(file.fees) if file.fees else {"items": [], "totals": []}
    body["expectedEnd"] = iso(file.expected_end)
    body["fieldsToFix"] = list(file.fields_to_fix)
    body["documents"] = documents_out(uow, view=view)
    if not view.is_applicant:
        body["processingData"] = dict(file.processing_data)
    if with_history:
        rows = uow.session.exec(select(FileHistory).where(FileHistory.file_id == file.id).order_by(FileHistory.at))
        body["history"] = [{"at": iso(h.at), "action": h.action, "status": h.status, "roleId": h.role_id or "", "reason": h.reason} for h in rows]
    return body


def documents_out(uow: UnitOfWork, *, view: FileView) -> list[dict]:
    """Which document slot each attached upload fills, and its file name (only the applicant's own uploads, so a URL
    to someone else's document names nothing; to an operator only those their roles' classifications cover)."""
    found = attached_documents(uow, file=view.file)
    listed = [(url, found.get(document_id_from_url(url))) for url in view.file.document_urls]
    return [{"url": str(url), "documentType": d.document_type, "fileName": d.file_name}
            for url, d in listed if d is not None and view.may_see_document(d)]


def localised_task_name(task: Task, document: dict, lang: str) -> str:
    """The task's name in the caller's language from the design's labels; the stored (English) name if the role is gone."""
    role = design.role(document, task.role_id)
    return task_name(document, role, lang) if role else task.name


def file_list_item(view: FileView, uow: UnitOfWork, task: Task | None, lang: str) -> dict:
    file = view.file
    return {
        "fileId": file.id, "mainTaskId": file.main_task_id, "taskTitle": localised_task_name(task, view.document, lang) if task else "",
        "roleId": task.role_id if task else "", "roleName": task.role_name if task else "",
        "assigneeId": (task.assignee_id or "") if task else "", "operatorName": task.assignee_name if task else "",
        "status": status(file.status), "applicantId": file.applicant_id, "created": iso(file.created),
        "registered": iso(file.registered), "description": file.description,
        "serviceName": design.text(view.document.get("name"), lang), "serviceId": file.service_id, "eformId": file.eform_id,
        "documentUrls": view.document_urls(uow), "additionalMeta": {"data": {}}, "expectedEnd": iso(file.expected_end),
    }


def task_out(task: Task, document: dict, lang: str) -> dict:
    return {
        "taskId": task.id, "mainTaskId": task.main_task_id, "name": localised_task_name(task, document, lang), "assigneeId": task.assignee_id or "",
        "roleId": task.role_id, "created": iso(task.created), "description": task.description, "serviceId": task.service_id,
        "serviceName": design.text(document.get("name"), lang), "fileId": task.file_id, "eFormId": task.eform_id,
        "status": status(task.status),
    }
