"""The audit log of one application file: who did what, when, in which role (staff only: it names operators)."""
from fastapi import APIRouter
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access
from registration.models import ApplicationFile, FileHistory
from registration.routes.deps import SettingsDep, Utf8JSONResponse
from registration.schemas import iso

router = APIRouter(tags=["audit"], default_response_class=Utf8JSONResponse)
AUDITOR_ROLES = ("auditor",)


@router.get("/applications/{file_id}/audit")
def get_audit_log(file_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> dict:
    """Every action on the file in order; for auditors, admins and the operators of the file."""
    if caller.has_any_role((*AUDITOR_ROLES, *settings.admin_roles)):
        file = uow.session.get(ApplicationFile, file_id)
        if file is None or file.status == "DRAFT":
            raise ApiError(404, "file_not_found", "No application file has this id.")
    else:
        view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
        if not view.roles:
            raise ApiError(403, "forbidden", "The audit log is for auditors and the file's operators; your history is in the application.")
        file = view.file
    rows = uow.session.exec(select(FileHistory).where(FileHistory.file_id == file.id).order_by(FileHistory.at, FileHistory.id))
    return {"fileId": file.id, "entries": [{"at": iso(h.at), "actor": h.actor, "action": h.action, "roleId": h.role_id or "",
                                            "status": h.status, "reason": h.reason} for h in rows]}
