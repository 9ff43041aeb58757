"""Operator console: the open tasks of the staff member's processing roles, the file as the task's role sees it, claim,
documents, messages with the applicant, and a decision with a reason (send back may mark the fields to correct)."""
import mimetypes
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kernel.db import UowDep
from web import catalogue, i18n, sessions
from web.bb import BuildingBlocks, segment
from web.console import CATALOGS, not_found, render_console
from web.pages import language
from web.routes.deps import Staff, StaffBlocks

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)
REG = "registration"
MAX_TASKS = 200
MAX_MESSAGE = 4000  # what registration's messages API accepts
# Base roles that give no task to process (admins work in every role); staff with only these and `auditor` audit.
NO_TASK_ROLES = {"auditor", "designer", "operator"}
_UNSAFE_IN_NAME = set('\\/:*?"<>|;')


def _by_role(tasks: list[dict]) -> list[dict]:
    """Tasks grouped per processing role of each service, in the order they arrived."""
    groups: dict[tuple, dict] = {}
    for task in tasks:
        key = (task["serviceId"], task["roleId"])
        groups.setdefault(key, {"title": task["name"], "role_id": task["roleId"], "tasks": []})["tasks"].append(task)
    return list(groups.values())


@router.get("", response_class=HTMLResponse)
def list_tasks(request: Request, staff: Staff, bb: StaffBlocks, role: str = "", decided: bool = False):
    roles = set(staff.roles.split())
    if "auditor" in roles and roles <= NO_TASK_ROLES:
        return RedirectResponse("/audit", status_code=303)  # staff sign-in lands here; an auditor has no tasks
    params = {"status": "PENDING", "sortBy": "created", "sortOrder": "asc", "maxResult": MAX_TASKS}
    if role:
        params["roleId"] = role[:100]
    tasks = bb.call("GET", REG, "tasks", params=params).json()
    c = CATALOGS[language(request)]
    return render_console(request, "operator_tasks.html", staff=staff, groups=_by_role(tasks), role=role,
                          notice=c["decision_recorded"] if decided else None)


def _task_page(request: Request, staff, bb: BuildingBlocks, task_id: str, *, status: int = 200, error: str | None = None,
               notice: str | None = None, form: dict | None = None, recorded: dict | None = None, reply: str = "",
               message_error: bool = False) -> HTMLResponse:
    task = bb.call("GET", REG, f"tasks/{segment(task_id)}")
    if task.status_code != 200:
        return not_found(request, staff)
    task = task.json()
    file = bb.call("GET", REG, f"applications/{segment(task['fileId'])}")
    file = file.json() if file.status_code == 200 else {}
    lang = language(request)
    t = i18n.CATALOGS[lang]
    if recorded is not None:
        # The decide call changed nothing: say what the task holds, and who decided it (the decision claims the task).
        who = t["decided_by_you"] if task["assigneeId"] == staff.subject else t["decided_by_other"]
        decision = str(recorded.get("decision") or "")
        error = t["already_decided"].format(who=who, decision=t.get("action_" + decision, decision), reason=recorded.get("reason") or "")
    visible = task["formVariables"]["applicationForm"]["data"]  # only what this task's role may see
    schema = bb.call("GET", REG, f"eForms/{segment(task['eFormId'])}")
    schema = schema.json().get("schema", {}) if schema.status_code == 200 else {}
    entry = catalogue.entry(bb, task["serviceId"])
    fields = [f for f in catalogue.fields(schema, entry, lang) if f["name"] in visible]
    slots = {slot["type"]: slot["label"] for slot in catalogue.documents(entry, lang)}
    documents = [{"id": _document_id(d["url"]), "type": d.get("documentType") or "", "file_name": d.get("fileName") or "",
                  "label": slots.get(d.get("documentType") or "") or t["document_n"].format(n=n)}
                 for n, d in enumerate(file.get("documents", []), start=1)]
    messages = bb.call("GET", REG, f"applications/{segment(task['fileId'])}/messages")
    return render_console(request, "operator_task.html", staff=staff, status=status, task=task, file=file, fields=fields, values=visible,
                          documents=documents, error=error, notice=notice, form=form or {},
                          messages=messages.json() if messages.status_code == 200 else [], reply=reply, message_error=message_error,
                          mine=task["assigneeId"] == staff.subject, open=task["status"]["code"] == "PENDING")


def _document_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _kept_work(request: Request, uow) -> tuple[dict | None, str]:
    """The decision (decision, reason, fields to fix) or the reply posted from this task page when the sign-in had ended,
    kept across the new sign-in: shown again once, for the operator to check and send again."""
    kept = sessions.take_kept_form(request, uow, request.url.path)
    uow.commit()
    if kept is None:
        return None, ""
    typed = {name: value for name in ("decision", "reason", "text") if isinstance(value := kept.get(name), str)}
    form = {"decision": typed.get("decision", ""), "reason": typed.get("reason", ""),
            "fields_to_fix": [name for name in kept.getlist("fields_to_fix") if isinstance(name, str)]}
    return (form if any(form.values()) else None), typed.get("text", "")[:MAX_MESSAGE]


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def get_task(task_id: str, request: Request, staff: Staff, bb: StaffBlocks, uow: UowDep, claimed: bool = False, sent: bool = False):
    form, reply = _kept_work(request, uow)
    t = i18n.CATALOGS[language(request)]
    notice = (t["work_restored"] if form is not None or reply else CATALOGS[language(request)]["claimed"] if claimed
              else t["reply_sent"] if sent else None)
    return _task_page(request, staff, bb, task_id, notice=notice, form=form, reply=reply)


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
    # Completing a completed task answers 200 with the decision it already holds (the spec's idempotent retry), so a
    # different decision, e.g. from a second tab, is refused here by comparing what came back with what was sent.
    recorded = completed.json().get("variables", {}).get("decision", {}).get("data", {})
    if (recorded.get("decision"), recorded.get("reason")) != (data["decision"], data["reason"]):
        return _task_page(request, staff, bb, task_id, status=409, recorded=recorded, form=entered)
    return RedirectResponse("/operator?decided=1", status_code=303)


@router.post("/tasks/{task_id}/messages")
async def send_message(task_id: str, request: Request, staff: Staff, bb: StaffBlocks):
    """A reply to the applicant, in the thread of the task's file."""
    text = (await request.form()).get("text")
    text = text if isinstance(text, str) else ""
    if not text.strip() or len(text) > MAX_MESSAGE:  # refused here: no need to carry a huge text to the API to hear it
        return _task_page(request, staff, bb, task_id, status=400, reply=text[:MAX_MESSAGE], message_error=True)
    task = bb.call("GET", REG, f"tasks/{segment(task_id)}")
    if task.status_code != 200:
        return not_found(request, staff)
    sent = bb.call("POST", REG, f"applications/{segment(task.json()['fileId'])}/messages", json={"text": text})
    if sent.status_code == 404:
        return not_found(request, staff)
    if sent.status_code != 201:
        return _task_page(request, staff, bb, task_id, status=400, reply=text, message_error=True)
    return RedirectResponse(f"/operator/tasks/{segment(task_id)}?sent=1#messages", status_code=303)


def download_name(*, file_name: str, document_type: str, content_type: str) -> str:
    """The name a download is saved under: the uploader's name without its extension (else the document's type), and
    the extension of what the bytes are (registration sniffs the content type; the uploader's extension may lie)."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name.lstrip(".") else file_name
    stem = "".join(ch for ch in stem if ch.isprintable() and ch not in _UNSAFE_IN_NAME).strip(" .")[:100]
    if not stem:
        stem = "".join(ch for ch in document_type if ch.isalnum() or ch in "-_")[:100] or "document"
    return stem + (mimetypes.guess_extension(content_type) or ".bin")


def _attachment(name: str) -> str:
    """Content-Disposition for a download: an ASCII fallback name, and the real (e.g. Lao) name in RFC 5987 form."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/files/{file_id}/documents/{document_id}")
def download_document(file_id: str, document_id: str, request: Request, staff: Staff, bb: StaffBlocks):
    """A document of a file the operator's roles may see (the registration BB decides), as a download named after it."""
    file = bb.call("GET", REG, f"applications/{segment(file_id)}")
    listed = [d for d in file.json().get("documents", []) if _document_id(d["url"]) == document_id] if file.status_code == 200 else []
    if not listed:
        return not_found(request, staff)
    document = bb.call("GET", REG, f"documents/{segment(document_id)}")
    if document.status_code != 200:
        return not_found(request, staff)
    media_type = document.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
    name = download_name(file_name=listed[0].get("fileName") or "", document_type=listed[0].get("documentType") or "", content_type=media_type)
    # An attachment, never rendered in the portal's origin.
    return Response(document.content, media_type=media_type, headers={
        "Content-Disposition": _attachment(name), "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
