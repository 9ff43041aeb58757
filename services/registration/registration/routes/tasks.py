"""GovStack tasks: each processing role's work list, claim, and completion with a decision."""
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy import and_, false, or_
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, design, forms, processing, schemas
from registration.models import ApplicationFile, ServiceDefinition, Task
from registration.routes.deps import FirstResult, SettingsDep, Utf8JSONResponse, body_or_error, given, json_field, language, text_field

router = APIRouter(prefix="/tasks", tags=["tasks"], default_response_class=Utf8JSONResponse)

_SORT_COLUMNS = {"created": Task.created, "name": Task.name, "assignee": Task.assignee_id, "status": Task.status}


def _task_for_operator(uow, task_id: str, caller, settings, *, lock: bool = False):
    """The task, its file and the role it belongs to, if the caller works in that role; otherwise 404.

    lock: for a change, the task and file rows are locked (FOR UPDATE on PostgreSQL) until the commit, so two concurrent
    claims or completions run one after the other and the second sees the first's decision."""
    task = uow.session.get(Task, task_id, with_for_update=lock)
    file = uow.session.get(ApplicationFile, task.file_id, with_for_update=lock) if task else None
    service = uow.session.get(ServiceDefinition, task.service_id) if task else None
    if task is None or file is None or service is None:
        raise ApiError(404, "task_not_found", "No task has this id.")
    document = access.service_document(uow, service=service, number=file.service_version)
    roles = [r for r in processing.operator_roles(document, caller, settings.admin_roles) if r["id"] == task.role_id]
    if not roles:
        raise ApiError(404, "task_not_found", "No task has this id.")
    return task, file, service, document, roles[0]


@router.get("")
def list_tasks(request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep, mainTaskId: str | None = None,
               fileId: str | None = None, assigneeId: str | None = None, roleId: str | None = None, status: str | None = None,
               firstResult: FirstResult = 0, maxResult: int = 100, sortBy: str = "created", sortOrder: str = "desc") -> list[dict]:
    operated = access.operated_services(uow, caller=caller, admin_roles=settings.admin_roles)
    mine = or_(false(), *(and_(Task.service_id == service_id, Task.role_id.in_([r["id"] for r in roles])) for service_id, roles in operated.items()))
    query = select(Task).where(mine)
    for column, value in ((Task.main_task_id, mainTaskId), (Task.file_id, fileId), (Task.assignee_id, assigneeId),
                          (Task.role_id, roleId), (Task.status, status)):
        if value is not None:
            query = query.where(column == value)
    column = _SORT_COLUMNS.get(sortBy, Task.created)
    query = query.order_by(column.asc() if sortOrder.lower() == "asc" else column.desc(), Task.id)
    query = query.offset(max(firstResult, 0)).limit(min(max(maxResult, 0), 500))
    lang = language(request)
    documents = {}
    items = []
    for task in uow.session.exec(query):
        if task.service_id not in documents:
            documents[task.service_id] = access.service_document(uow, service=uow.session.get(ServiceDefinition, task.service_id), number=None)
        items.append(schemas.task_out(task, documents[task.service_id], lang))
    return items


@router.get("/{task_id}")
def get_task(task_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    task, file, service, document, role = _task_for_operator(uow, task_id, caller, settings)
    visible = forms.filter_data(file.form_data, design.eform(document, file.eform_id), role.get("sees", []))
    out = schemas.task_out(task, document, language(request))
    return {**out, "taskName": out.pop("name"),
            "formVariables": {"applicationForm": {"data": visible, "eFormId": file.eform_id}, "processing": {"data": dict(file.processing_data)}},
            "data": dict(task.data), "decisions": list(role.get("decisions", {})), "applicantFileStatus": schemas.status(file.status)}


@router.post("/{task_id}/claim")
def claim_task(task_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    task, file, service, document, role = _task_for_operator(uow, task_id, caller, settings, lock=True)
    processing.claim(uow, task=task, caller=caller)
    processing.history(uow, file=file, action="claimed", actor=caller.subject, role_id=role["id"])
    uow.commit()
    return schemas.task_out(task, document, language(request))


def _completed(task: Task) -> dict:
    return {"taskId": task.id, "fileId": task.file_id, "serviceId": task.service_id, "status": schemas.status(task.status),
            "variables": {"decision": {"data": {"decision": task.decision, "reason": task.reason, **task.data}}}}


@router.post("/{task_id}/complete")
async def complete_task(task_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    """Decide with a reason; completing an already completed task answers with its decision again."""
    body = await body_or_error(request)
    return await run_in_threadpool(_complete_task, task_id, uow, caller, settings, body)


def _complete_task(task_id: str, uow, caller, settings, body: dict | ApiError) -> dict:
    task, file, service, document, role = _task_for_operator(uow, task_id, caller, settings, lock=True)
    body = given(body)
    if task.completed is not None:
        return _completed(task)
    data = json_field(body, "data", {}, dict)
    decision, reason = text_field(data, "decision", field="data.decision"), text_field(data, "reason", field="data.reason")
    data.pop("decision", None), data.pop("reason", None)
    processing.decide(uow, task=task, file=file, service=service, document=document, decision=decision, reason=reason, data=data, caller=caller)
    uow.commit()
    return _completed(task)
