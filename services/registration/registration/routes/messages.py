"""Messages between the applicant and the operators of one application file (our extension; the spec is silent)."""
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, processing
from registration.models import FileMessage
from registration.routes.deps import SettingsDep, Utf8JSONResponse, body_or_error, given
from registration.schemas import iso

router = APIRouter(tags=["messages"], default_response_class=Utf8JSONResponse)
MAX_TEXT = 4000


def message_out(message: FileMessage, *, for_applicant: bool) -> dict:
    body = {"id": message.id, "at": iso(message.at), "authorKind": message.author_kind, "roleId": message.role_id or "", "text": message.text}
    if not for_applicant:
        body["authorId"] = message.author_id  # which operator wrote it is staff information
    return body


@router.get("/applications/{file_id}/messages")
def list_messages(file_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> list[dict]:
    view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
    rows = uow.session.exec(select(FileMessage).where(FileMessage.file_id == view.file.id).order_by(FileMessage.at, FileMessage.id))
    return [message_out(m, for_applicant=view.is_applicant) for m in rows]


@router.post("/applications/{file_id}/messages", status_code=201)
async def post_message(file_id: str, request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    body = await body_or_error(request)
    return await run_in_threadpool(_post_message, file_id, uow, caller, settings, body)


def _post_message(file_id: str, uow, caller, settings, body: dict | ApiError) -> dict:
    view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
    text = given(body).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise ApiError(400, "invalid_message", "A message needs a text of 1 to 4000 characters.",
                       details=[{"field": "text", "reason": f"required: 1 to {MAX_TEXT} characters"}])
    # Someone who is both the applicant and an operator of the file writes as the applicant.
    role_id = None if view.is_applicant else view.roles[0]["id"]
    message = FileMessage(file_id=view.file.id, author_id=caller.subject, author_kind="applicant" if view.is_applicant else "operator",
                          role_id=role_id, text=text.strip())
    uow.session.add(message)
    processing.history(uow, file=view.file, action="message", actor=caller.subject, role_id=role_id)
    uow.commit()
    return message_out(message, for_applicant=view.is_applicant)
