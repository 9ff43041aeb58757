"""What happens to an application file: submission, correction, operators' decisions and the registry write."""
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from kernel.auth import Caller
from kernel.db import UnitOfWork
from kernel.errors import ApiError
from registration import design, forms, rules
from registration.events import ApplicationApproved, ApplicationRejected, ApplicationSentBack, ApplicationSubmitted
from registration.models import (ApplicationFile, Document, FileHistory, RegistryRecord, RegistrySequence,
                                 ServiceDefinition, Task, utcnow)

STATUS_TITLES = {"DRAFT": "Draft", "PENDING": "Pending", "APPROVED": "Approved", "SENDBACK": "Sent back", "REJECTED": "Rejected"}
DECISION_STATUS = {"approve": "APPROVED", "reject": "REJECTED", "send_back": "SENDBACK"}


def operator_roles(document: dict, caller: Caller, admin_roles) -> list[dict]:
    """The service's processing roles this caller works in (admins work in all of them)."""
    if caller.has_any_role(admin_roles):
        return list(document.get("roles", []))
    return [role for role in document.get("roles", []) if caller.has_any_role(role.get("operator_roles", []))]


def history(uow: UnitOfWork, *, file: ApplicationFile, action: str, actor: str, role_id: str | None = None, reason: str = "") -> None:
    uow.session.add(FileHistory(file_id=file.id, action=action, actor=actor, role_id=role_id, status=file.status, reason=reason))


def check_form(document: dict, *, eform_id: str | None, data) -> dict:
    """The e-form the data was captured with, after checking the data against its schema (400 naming each field)."""
    eform = design.eform(document, eform_id)
    if eform is None:
        raise ApiError(400, "unknown_eform", "The service has no e-form with this id.", details=[{"field": "formData.eFormId", "reason": "not an e-form of this service"}])
    problems = forms.validate_data(eform, data)
    if problems:
        raise ApiError(400, "invalid_form_data", "The form data does not satisfy the e-form.", details=[p.as_dict() for p in problems])
    return eform


def attach_documents(uow: UnitOfWork, *, file: ApplicationFile, document: dict, urls: list[str], caller: Caller) -> None:
    """Link the applicant's uploads to the file; only their own uploads, and every required document type present."""
    problems, attached_types = [], set()
    for index, url in enumerate(urls):
        # Locked: the applicant may be removing it from a draft at this moment (uploads.release deletes only unattached rows).
        stored = uow.session.get(Document, document_id_from_url(url), with_for_update=True, populate_existing=True)
        if stored is None or stored.owner_id != caller.subject or (stored.file_id not in (None, file.id)):
            problems.append({"field": f"documentUrls[{index}]", "reason": "not a document you uploaded"})
            continue
        required = design.document_type(document, stored.document_type) if stored.document_type else None
        if stored.document_type and required is None:
            problems.append({"field": f"documentUrls[{index}]", "reason": f"document type '{stored.document_type}' is not asked for by this service"})
            continue
        if required and stored.content_type not in required["content_types"]:
            problems.append({"field": f"documentUrls[{index}]", "reason": f"must be one of {', '.join(required['content_types'])}"})
            continue
        attached_types.add(stored.document_type)
        stored.file_id = file.id
        uow.session.add(stored)
    for required in document.get("documents", []):
        # A condition limits a requirement to the applicants it describes (e.g. only companies above some capital).
        needed = required.get("required") and rules.holds(required.get("condition"), file.form_data)
        if needed and required["type"] not in attached_types:
            problems.append({"field": f"documents.{required['type']}", "reason": "required document is missing"})
    if problems:
        raise ApiError(400, "invalid_documents", "The attached documents do not match what the service asks for.", details=problems)


def check_rules(document: dict, *, file: ApplicationFile) -> None:
    """Determinants decide whether this applicant may register (400 naming each unmet rule); fees and the expected end
    of processing are recorded on the file."""
    unmet = rules.unmet_determinants(document, file.form_data)
    if unmet:
        raise ApiError(400, "not_eligible", "The submitted data meets none of the registration's determinants (who must or may register).",
                       details=unmet)
    file.fees = rules.fees_for(document, file.form_data)
    days = document.get("processing_days")
    file.expected_end = utcnow() + timedelta(days=days) if isinstance(days, int) and not isinstance(days, bool) else None


def document_id_from_url(url) -> str:
    return str(url).rstrip("/").rsplit("/", 1)[-1]


def submit(uow: UnitOfWork, *, service: ServiceDefinition, service_version: int, document: dict, file: ApplicationFile,
           caller: Caller) -> ApplicationFile:
    """Submit a new file or a draft: validate it, start the first role's task and announce it (the caller commits, after
    the integration steps have passed)."""
    eform = check_form(document, eform_id=file.eform_id or None, data=file.form_data)
    file.eform_id = eform["id"]
    file.service_version = service_version
    check_rules(document, file=file)
    attach_documents(uow, file=file, document=document, urls=file.document_urls, caller=caller)
    file.status, file.registered = "PENDING", utcnow()
    uow.session.add(file)
    _open_task(uow, file=file, document=document, role=design.first_role(document))
    history(uow, file=file, action="submitted", actor=caller.subject)
    uow.emit(ApplicationSubmitted(application_id=file.id, service_id=service.id, applicant_sub=file.applicant_id, language=file.language,
                                  notify_applicant=_notifies(document)))
    return file


def resubmit(uow: UnitOfWork, *, document: dict, file: ApplicationFile, caller: Caller) -> ApplicationFile:
    """A corrected file goes back to the role that sent it back."""
    if file.status != "SENDBACK":
        raise ApiError(409, "not_sent_back", "Only a file that was sent back can be corrected.")
    check_form(document, eform_id=file.eform_id or None, data=file.form_data)
    check_rules(document, file=file)
    attach_documents(uow, file=file, document=document, urls=file.document_urls, caller=caller)
    file.status, file.fields_to_fix = "PENDING", []
    uow.session.add(file)
    role = design.role(document, file.sent_back_by_role or "") or design.first_role(document)
    _open_task(uow, file=file, document=document, role=role)
    history(uow, file=file, action="corrected", actor=caller.subject)
    uow.emit(ApplicationSubmitted(application_id=file.id, service_id=file.service_id, applicant_sub=file.applicant_id, language=file.language,
                                  notify_applicant=_notifies(document)))
    return file


def _notifies(document: dict) -> bool:
    return design.has_step(document, "notify_applicant") is not None


def task_name(document: dict, role: dict, language: str = "en") -> str:
    """What a work list calls a task: the service and the role, in the operator's language."""
    return f"{design.text(document.get('name'), language)}: {design.text(role.get('name'), language)}"


def _open_task(uow: UnitOfWork, *, file: ApplicationFile, document: dict, role: dict) -> Task:
    task = Task(file_id=file.id, main_task_id=file.main_task_id, service_id=file.service_id, role_id=role["id"],
                role_name=design.text(role.get("name")), name=task_name(document, role), eform_id=file.eform_id)
    uow.session.add(task)
    return task


def claim(uow: UnitOfWork, *, task: Task, caller: Caller) -> Task:
    if task.completed is not None:
        raise ApiError(409, "task_completed", "The task is already completed.")
    if task.assignee_id not in (None, caller.subject):
        raise ApiError(409, "task_claimed", "Another operator has claimed this task.")
    task.assignee_id = caller.subject
    task.assignee_name = str(caller.claims.get("name") or caller.claims.get("preferred_username") or "")
    uow.session.add(task)
    return task


def decide(uow: UnitOfWork, *, task: Task, file: ApplicationFile, service: ServiceDefinition, document: dict, decision: str,
           reason: str, data: dict, caller: Caller) -> Task:
    """Record a role's decision and move the file on: to another role, back to the applicant, or to its end."""
    role = design.role(document, task.role_id)
    if role is None:
        raise ApiError(409, "role_removed", "The task's role no longer exists in this service.")
    if decision not in (role.get("decisions") or {}):
        allowed = ", ".join(role.get("decisions") or {})
        raise ApiError(400, "decision_not_allowed", f"This role may decide: {allowed}.", details=[{"field": "data.decision", "reason": f"must be one of {allowed}"}])
    if not reason.strip():
        raise ApiError(400, "reason_required", "A decision needs a reason.", details=[{"field": "data.reason", "reason": "required"}])
    fields_to_fix = marked_fields(document, file=file, role=role, decision=decision, marked=data.pop("fieldsToFix", None))
    claim(uow, task=task, caller=caller)
    # Kept with the decision too, for a send-back that routes to another role rather than to the applicant.
    task.decision, task.reason, task.data = decision, reason, {**data, "fieldsToFix": fields_to_fix} if fields_to_fix else data
    task.status, task.completed = DECISION_STATUS[decision], utcnow()
    uow.session.add(task)

    target = role["decisions"][decision]
    next_role = design.role(document, target)
    event = None
    if next_role is not None:
        _open_task(uow, file=file, document=document, role=next_role)
    elif decision == "send_back":
        file.status, file.sent_back_by_role, file.fields_to_fix = "SENDBACK", role["id"], fields_to_fix
        event = ApplicationSentBack
    elif decision == "approve":
        file.status, file.ended = "APPROVED", True
        if design.has_step(document, "write_registry"):
            write_registry(uow, service=service, file=file)
        event = ApplicationApproved
    else:
        file.status, file.ended = "REJECTED", True
        event = ApplicationRejected
    uow.session.add(file)
    history(uow, file=file, action=decision, actor=caller.subject, role_id=role["id"], reason=reason)
    if event is not None:
        uow.emit(event(application_id=file.id, service_id=file.service_id, applicant_sub=file.applicant_id, decision_id=task.id,
                       language=file.language, notify_applicant=_notifies(document)))
    return task


def marked_fields(document: dict, *, file: ApplicationFile, role: dict, decision: str, marked) -> list[dict]:
    """The fields an operator marks for the applicant to fix on send-back: [{field, reason}], only fields of the file's
    e-form that this role may see (a name alone is accepted; the reason then is empty)."""
    if marked is None or marked == []:
        return []
    if decision != "send_back":
        raise ApiError(400, "invalid_fields", "Only a send-back marks fields to fix.", details=[{"field": "data.fieldsToFix", "reason": "only with send_back"}])
    if not isinstance(marked, list):
        raise ApiError(400, "invalid_fields", "fieldsToFix must be a list.", details=[{"field": "data.fieldsToFix", "reason": "must be a list"}])
    visible = forms.visible_fields(design.eform(document, file.eform_id) or {}, role.get("sees", []))
    found, problems = [], []
    for index, item in enumerate(marked):
        if isinstance(item, dict):
            name, why = item.get("field"), item.get("reason", "")
        else:
            name, why = item, ""
        if not isinstance(name, str) or name not in visible or not isinstance(why, str):
            problems.append({"field": f"data.fieldsToFix[{index}]", "reason": "must name a field of the form that your role sees, with a text reason"})
        else:
            found.append({"field": name, "reason": why[:1000]})
    if problems:
        raise ApiError(400, "invalid_fields", "Some marked fields are not fields of this form.", details=problems)
    return found


def write_registry(uow: UnitOfWork, *, service: ServiceDefinition, file: ApplicationFile) -> RegistryRecord:
    number = next_registration_number(uow, code=service.code, year=utcnow().year)
    record = RegistryRecord(registration_number=number, service_id=service.id, file_id=file.id, applicant_id=file.applicant_id, data=dict(file.form_data))
    file.registration_number = number
    uow.session.add(record)
    return record


def next_registration_number(uow: UnitOfWork, *, code: str, year: int) -> str:
    """<CODE>-<year>-<000001>: numbers are drawn under a row lock, so two approvals never share one."""
    insert = postgresql_insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # The first approval of a year creates the row; concurrent first approvals must not collide on it.
    uow.session.execute(insert(RegistrySequence).values(service_code=code, year=year, last=0).on_conflict_do_nothing())
    query = select(RegistrySequence).where(RegistrySequence.service_code == code, RegistrySequence.year == year).with_for_update()
    sequence = uow.session.exec(query).one()
    sequence.last += 1
    uow.session.add(sequence)
    uow.session.flush()
    return f"{code}-{year}-{sequence.last:06d}"


def decisions_between(uow: UnitOfWork, *, start: datetime | None, end: datetime | None, service_ids=None,
                      operator: str | None = None, role: str | None = None) -> dict[str, int]:
    """Counts of real decisions (completed tasks) by decision."""
    query = select(Task.decision, func.count()).where(Task.completed.is_not(None), Task.decision.is_not(None))
    if start is not None:
        query = query.where(Task.completed >= start)
    if end is not None:
        query = query.where(Task.completed < end)
    if service_ids is not None:
        query = query.where(Task.service_id.in_(list(service_ids)))
    if operator:
        query = query.where(Task.assignee_name == operator)
    if role:
        query = query.where((Task.role_name == role) | (Task.role_id == role))
    return {decision: count for decision, count in uow.session.exec(query.group_by(Task.decision))}
