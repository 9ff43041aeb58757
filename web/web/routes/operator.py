"""Operator console: the open tasks of the staff member's processing roles, the file as the task's role sees it, claim,
documents, and a decision with a reason (send back may mark the fields to correct)."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web import catalogue
from web.bb import BuildingBlocks, segment
from web.console import CATALOGS, not_found, render_console
from web.pages import language
from web.routes.deps import Staff, StaffBlocks

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)
REG = "registration"
MAX_TASKS = 200


def _by_role(tasks: list[dict]) -> list[dict]:
    """Tasks grouped per processing role of each service, in the order they arrived."""
    groups: dict[tuple, dict] = {}
    for task in tasks:
        key = (task["serviceId"], task["roleId"])
        groups.setdefault(key, {"title": task["name"], "role_id": task["roleId"], "tasks": []})["tasks"].append(task)
    return list(groups.values())


@router.get("", response_class=HTMLResponse)
def list_tasks(request: Request, staff: Staff, bb: StaffBlocks, role: str = "", decided: bool = False):
    params = {"status": "PENDING", "sortBy": "created", "sortOrder": "asc", "maxResult": MAX_TASKS}
    if role:
        params["roleId"] = role[:100]
    tasks = bb.call("GET", REG, "tasks", params=params).json()
    c = CATALOGS[language(request)]
    return render_console(request, "operator_tasks.html", staff=staff, groups=_by_role(tasks), role=role,
                          notice=c["decision_recorded"] if decided else None)


def _task_page(request: Request, staff, bb: BuildingBlocks, task_id: str, *, status: int = 200, error: str | None = None,
               notice: str | None = None, form: dict | None = None) -> HTMLResponse:
    task = bb.call("GET", REG, f"tasks/{segment(task_id)}")
    if task.status_code != 200:
        return not_found(request, staff)
    task = task.json()
    file = bb.call("GET", REG, f"applications/{segment(task['fileId'])}")
    file = file.json() if file.status_code == 200 else {}
    lang = language(request)
    visible = task["formVariables"]["applicationForm"]["data"]  # only what this task's role may see
    schema = bb.call("GET", REG, f"eForms/{segment(task['eFormId'])}")
    schema = schema.json().get("schema", {}) if schema.status_code == 200 else {}
    fields = [f for f in catalogue.fields(schema, catalogue.entry(bb, task["serviceId"]), lang) if f["name"] in visible]
    documents = [url.rstrip("/").rsplit("/", 1)[-1] for url in file.get("applicationData", {}).get("documentUrls", [])]
    return render_console(request, "operator_task.html", staff=staff, status=status, task=task, file=file, fields=fields, values=visible,
                          documents=documents, error=error, notice=notice, form=form or {},
                          mine=task["assigneeId"] == staff.subject, open=task["status"]["code"] == "PENDING")


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def get_task(task_id: str, request: Request, staff: Staff, bb: StaffBlocks, claimed: bool = False):
    notice = CATALOGS[language(request)]["claimed"] if claimed else None
    return _task_page(request, staff, bb, task_id, notice=notice)


@router.post("/tasks/{task_id}/claim")
def claim_task(task_id: str, request: Request, staff: Staff, bb: StaffBlocks):
    claimed = bb.call("POST", REG, f"tasks/{segment(task_id)}/claim")
    if claimed.status_code == 404:
        return not_found(request, staff)
    if claimed.status_code != 200:
        return _task_page(request, staff, bb, task_id, status=409, error=CATALOGS[language(request)]["claimed_by_other"])
    return RedirectResponse(f"/operator/tasks/{segment(task_id)}?claimed=1", status_code=303)


@router.post("/tasks/{task_id}/decide")
async def decide_task(task_id: str, request: Request, staff: Staff, bb: StaffBlocks):
    form = await request.form()
    decision, reason = str(form.get("decision") or ""), str(form.get("reason") or "").strip()
    fields_to_fix = [str(name) for name in form.getlist("fields_to_fix")]
    c = CATALOGS[language(request)]
    entered = {"decision": decision, "reason": reason, "fields_to_fix": fields_to_fix}
    if not decision:
        return _task_page(request, staff, bb, task_id, status=400, error=c["decision_required"], form=entered)
    if not reason:
        return _task_page(request, staff, bb, task_id, status=400, error=c["reason_required"], form=entered)
    data = {"decision": decision, "reason": reason[:2000]}
    if decision == "send_back" and fields_to_fix:
        data["fieldsToFix"] = fields_to_fix
    completed = bb.call("POST", REG, f"tasks/{segment(task_id)}/complete", json={"data": data})
    if completed.status_code == 404:
        return not_found(request, staff)
    if completed.status_code != 200:
        error = c["claimed_by_other"] if completed.status_code == 409 else c["decision_refused"]
        return _task_page(request, staff, bb, task_id, status=completed.status_code, error=error, form=entered)
    return RedirectResponse("/operator?decided=1", status_code=303)


@router.get("/documents/{document_id}")
def download_document(document_id: str, request: Request, staff: Staff, bb: StaffBlocks):
    """A document of a file the operator's roles may see (the registration BB decides), as a download."""
    document = bb.call("GET", REG, f"documents/{segment(document_id)}")
    if document.status_code != 200:
        return not_found(request, staff)
    media_type = document.headers.get("content-type", "application/octet-stream")
    # An attachment, never rendered in the portal's origin.
    return Response(document.content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{segment(document_id)}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})
