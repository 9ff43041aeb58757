"""Auditor console, read-only: an application's audit trail (registration) and the exchanges with the building blocks in
the gateway's message log (the gateway lets auditors read every exchange's record). Consent's audit API and the
gateway's own audit log are not offered: they refuse the portal's staff token."""
from datetime import date, datetime, time, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.bb import segment
from web.console import render_console
from web.models import WebSession
from web.pages import language
from web.routes.deps import NotPermitted, Staff, StaffBlocks

router = APIRouter(prefix="/audit", tags=["audit"], include_in_schema=False)
REG = "registration"
AUDIT_ROLES = {"auditor", "admin"}  # the roles registration's audit log answers for any file
MAX_ID = 100
MAX_EXCHANGES = 200
BUILDING_BLOCKS = ("registration", "consent")  # those the portal calls

TEXT: dict[str, dict[str, str]] = {
    "lo": {
        "audit": "ການກວດສອບ",
        "intro": "ໜ້ານີ້ສຳລັບອ່ານເທົ່ານັ້ນ: ບໍ່ມີຫຍັງຖືກປ່ຽນແປງ",
        "find_application": "ຊອກຫາຄຳຮ້ອງ",
        "file_id": "ເລກຄຳຮ້ອງ (file id)",
        "show_trail": "ສະແດງປະຫວັດການດຳເນີນງານ",
        "trail": "ປະຫວັດການດຳເນີນງານຂອງຄຳຮ້ອງ",
        "trail_note": "ທຸກການກະທຳຕໍ່ຄຳຮ້ອງນີ້ຕາມລຳດັບ: ເວລາ, ຜູ້ກະທຳ (ລະຫັດບັນຊີ), ບົດບາດ ແລະ ສະຖານະຫຼັງການກະທຳ",
        "when": "ເວລາ (UTC)",
        "action": "ການກະທຳ",
        "actor": "ຜູ້ກະທຳ",
        "the_applicant": "ຜູ້ຍື່ນຄຳຮ້ອງ",
        "role": "ບົດບາດ",
        "status_after": "ສະຖານະຫຼັງຈາກນັ້ນ",
        "reason": "ເຫດຜົນ",
        "no_entries": "ບໍ່ມີລາຍການ",
        "id_required": "ກະລຸນາປ້ອນເລກຄຳຮ້ອງ",
        "id_invalid": "ເລກຄຳຮ້ອງນີ້ບໍ່ຖືກຮູບແບບ",
        "not_found": "ບໍ່ພົບຄຳຮ້ອງທີ່ມີເລກນີ້ (ສະບັບຮ່າງບໍ່ມີປະຫວັດການກວດສອບ)",
        "exchanges": "ການແລກປ່ຽນຂໍ້ມູນຜ່ານ gateway",
        "exchanges_note": "ການແລກປ່ຽນກັບ building block ທີ່ gateway (Information Mediator) ບັນທຶກໄວ້: ບໍ່ມີເນື້ອໃນ, ມີແຕ່ hash ຂອງມັນ. ໃໝ່ສຸດກ່ອນ, ສູງສຸດ {n} ລາຍການ",
        "building_block": "Building block",
        "all": "ທັງໝົດ",
        "since": "ຕັ້ງແຕ່ວັນທີ",
        "filter": "ກັ່ນຕອງ",
        "method": "ວິທີ",
        "path": "ເສັ້ນທາງ",
        "http_status": "HTTP",
        "outcome": "ຜົນ",
        "message_id": "ລະຫັດຂໍ້ຄວາມ",
        "request_hash": "hash ຄຳຂໍ",
        "totals": "ລວມຕາມຜົນ",
        "outcome_delivered": "ສົ່ງເຖິງແລ້ວ", "outcome_refused": "ຖືກປະຕິເສດ", "outcome_failed": "ລົ້ມເຫຼວ",
        "no_exchanges": "ບໍ່ມີການແລກປ່ຽນ",
        "date_invalid": "ວັນທີຕ້ອງເປັນຮູບແບບ YYYY-MM-DD",
        "unknown_building_block": "ບໍ່ຮູ້ຈັກ building block ນີ້",
    },
    "en": {
        "audit": "Audit",
        "intro": "Read only: nothing here changes anything",
        "find_application": "Find an application",
        "file_id": "Application number (file id)",
        "show_trail": "Show its audit trail",
        "trail": "Audit trail of application",
        "trail_note": "Every action on this application in order: when, who (account id), in which role, and the status it left",
        "when": "When (UTC)",
        "action": "Action",
        "actor": "Actor",
        "the_applicant": "the applicant",
        "role": "Role",
        "status_after": "Status after",
        "reason": "Reason",
        "no_entries": "No entries",
        "id_required": "Please enter an application number",
        "id_invalid": "This is not an application number",
        "not_found": "No application has this number (drafts have no audit trail)",
        "exchanges": "Exchanges through the gateway",
        "exchanges_note": "Exchanges with the building blocks as the gateway (Information Mediator) logged them: no contents, only their hashes. Newest first, at most {n}",
        "building_block": "Building block",
        "all": "All",
        "since": "Since",
        "filter": "Filter",
        "method": "Method",
        "path": "Path",
        "http_status": "HTTP",
        "outcome": "Outcome",
        "message_id": "Message id",
        "request_hash": "Request hash",
        "totals": "Totals by outcome",
        "outcome_delivered": "Delivered", "outcome_refused": "Refused", "outcome_failed": "Failed",
        "no_exchanges": "No exchanges",
        "date_invalid": "The date must be written YYYY-MM-DD",
        "unknown_building_block": "Unknown building block",
    },
}


def _auditor(staff: Staff) -> WebSession:
    if not AUDIT_ROLES & set(staff.roles.split()):
        raise NotPermitted(staff)
    return staff


Auditor = Annotated[WebSession, Depends(_auditor)]


def _page(request: Request, name: str, staff: WebSession, *, status: int = 200, **context) -> HTMLResponse:
    return render_console(request, name, staff=staff, status=status, a=TEXT[language(request)], **context)


def _home(request: Request, staff: WebSession, *, status: int = 200, error: str | None = None, file_id: str = "") -> HTMLResponse:
    return _page(request, "audit.html", staff, status=status, error=error, file_id=file_id)


@router.get("", response_class=HTMLResponse)
def get_audit_home(request: Request, staff: Auditor):
    return _home(request, staff)


@router.get("/applications")
def find_application(request: Request, staff: Auditor, file_id: str = ""):
    """The search form's target: on to the application's own page, which can be bookmarked."""
    file_id = file_id.strip()
    a = TEXT[language(request)]
    if not file_id:
        return _home(request, staff, status=400, error=a["id_required"])
    if len(file_id) > MAX_ID or not file_id.isprintable():
        return _home(request, staff, status=400, error=a["id_invalid"], file_id=file_id[:MAX_ID])
    return RedirectResponse(f"/audit/applications/{segment(file_id)}", status_code=303)


@router.get("/applications/{file_id}", response_class=HTMLResponse)
def get_application_trail(file_id: str, request: Request, staff: Auditor, bb: StaffBlocks):
    a = TEXT[language(request)]
    if len(file_id) > MAX_ID or not file_id.isprintable():
        return _home(request, staff, status=400, error=a["id_invalid"])
    trail = bb.call("GET", REG, f"applications/{segment(file_id)}/audit")
    if trail.status_code != 200:  # 404: no such file, or a draft
        return _home(request, staff, status=404, error=a["not_found"], file_id=file_id)
    entries = trail.json().get("entries", [])
    # The trail names accounts by id only; the one who saved and submitted the file is its applicant.
    applicant = next((e["actor"] for e in entries if e["action"] in ("saved", "submitted")), None)
    return _page(request, "audit_application.html", staff, file_id=file_id, entries=entries, applicant=applicant)


def _since(value: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=timezone.utc) if value else None


@router.get("/exchanges", response_class=HTMLResponse)
def list_exchanges(request: Request, staff: Auditor, bb: StaffBlocks, bb_name: str = "", since: str = ""):
    """The gateway answers an auditor with every exchange's record (never a payload); filtered here by building block."""
    a = TEXT[language(request)]
    services = {name: f"{bb.settings.im_provider}/{name}-bb/{name}" for name in BUILDING_BLOCKS}

    def page(*, status: int = 200, error: str | None = None, found: dict | None = None) -> HTMLResponse:
        return _page(request, "audit_exchanges.html", staff, status=status, error=error, found=found, services=services,
                     chosen={"bb_name": bb_name, "since": since[:10]}, limit=MAX_EXCHANGES)

    try:
        since_at = _since(since.strip())
    except ValueError:
        return page(status=400, error=a["date_invalid"])
    if bb_name and bb_name not in services:
        return page(status=400, error=a["unknown_building_block"])
    params = {"limit": MAX_EXCHANGES}
    if since_at:
        params["since"] = since_at.isoformat()
    if bb_name:
        params["service"] = services[bb_name]
    return page(found=bb.call_gateway("GET", "api/v1/monitoring/operational", params=params).json())
