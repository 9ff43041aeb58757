"""Auditor console, read-only: an application's audit trail (registration), the exchanges with the building blocks in
the gateway's message log, the gateway's own audit log of administrative actions, and the Consent BB's audit API (data
agreements with their revision history and chain checks, consent records). Each read goes through the gateway with the
auditor's own staff token; the building blocks decide what the auditor role may read."""
from datetime import date, datetime, time, timezone
from functools import partial
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web import i18n
from web.bb import BuildingBlocks, Unavailable, segment
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
CONSENT = "consent"
PAGE_SIZE = 100  # entries per page of the gateway's audit log and of consent's lists
MAX_POSITION = 2**31 - 1  # the gateway's audit sequence and consent's offsets are database integers

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
        "gateway_audit": "ບັນທຶກການກວດສອບຂອງ gateway",
        "gateway_audit_note": "ທຸກການກະທຳດ້ານການບໍລິຫານຢູ່ gateway (Information Mediator), ສຳເລັດ ຫຼື ບໍ່ສຳເລັດ: ໃຜ, ເຮັດຫຍັງ, ເມື່ອໃດ ແລະ ຜົນ. ເກົ່າສຸດກ່ອນ, {n} ລາຍການຕໍ່ໜ້າ",
        "seq": "ລຳດັບ",
        "target": "ເປົ້າໝາຍ",
        "details": "ລາຍລະອຽດ",
        "outcome_success": "ສຳເລັດ", "outcome_failure": "ບໍ່ສຳເລັດ",
        "first_page": "ໜ້າທຳອິດ",
        "next_page": "ໜ້າຕໍ່ໄປ",
        "position_invalid": "ຕຳແໜ່ງຕ້ອງເປັນຈຳນວນເຕັມ ຕັ້ງແຕ່ 0 ຂຶ້ນໄປ",
        "data_agreements": "ຂໍ້ຕົກລົງການນຳໃຊ້ຂໍ້ມູນ",
        "data_agreements_note": "ຂໍ້ຕົກລົງການນຳໃຊ້ຂໍ້ມູນທັງໝົດທີ່ Consent BB ມີ (ລວມທັງສະບັບຮ່າງ). ເປີດຂໍ້ຕົກລົງເພື່ອເບິ່ງປະຫວັດການແກ້ໄຂ ແລະ ຜົນການກວດສອບຕ່ອງໂສ້",
        "data_agreement": "ຂໍ້ຕົກລົງການນຳໃຊ້ຂໍ້ມູນ",
        "agreement_id": "ລະຫັດຂໍ້ຕົກລົງ",
        "purpose": "ຈຸດປະສົງ",
        "version": "ສະບັບ",
        "lifecycle": "ຂັ້ນຕອນ",
        "lifecycle_Draft": "ສະບັບຮ່າງ", "lifecycle_Complete": "ສົມບູນ",
        "active": "ໃຊ້ງານ",
        "yes": "ແມ່ນ", "no": "ບໍ່",
        "deleted": "ຖືກລຶບແລ້ວ",
        "no_agreements": "ບໍ່ມີຂໍ້ຕົກລົງ",
        "agreement_not_found": "ບໍ່ພົບຂໍ້ຕົກລົງທີ່ມີລະຫັດນີ້",
        "revisions": "ປະຫວັດການແກ້ໄຂ",
        "revisions_note": "ທຸກການແກ້ໄຂຕາມລຳດັບຂອງຕ່ອງໂສ້: ແຕ່ລະສະບັບອ້າງອີງ hash ຂອງສະບັບກ່ອນໜ້າ",
        "revision": "ລະຫັດການແກ້ໄຂ",
        "authorized_by": "ອະນຸຍາດໂດຍ",
        "hash": "Hash",
        "predecessor_hash": "Hash ຂອງສະບັບກ່ອນໜ້າ",
        "chain_check": "ການກວດສອບຕ່ອງໂສ້",
        "chain_valid": "ຖືກຕ້ອງ: ປະຫວັດຄົບຖ້ວນ ບໍ່ຖືກແກ້ໄຂ (ກວດ {n} ຕ່ອງໂສ້)",
        "chain_broken": "ພົບບັນຫາ: {n} ຕ່ອງໂສ້ບໍ່ຖືກຕ້ອງ",
        "broken_revision": "ສະບັບທຳອິດທີ່ບໍ່ຖືກຕ້ອງ",
        "chain_unchecked": "Consent BB ບໍ່ໄດ້ກວດສອບຕ່ອງໂສ້ນີ້",
        "consent_records": "ບັນທຶກການໃຫ້ຄວາມຍິນຍອມ",
        "consent_records_note": "ບັນທຶກການໃຫ້ຄວາມຍິນຍອມທີ່ Consent BB ມີ, ເກົ່າສຸດກ່ອນ. ບຸກຄົນຖືກລະບຸດ້ວຍລະຫັດທີ່ Consent BB ໃຫ້ເທົ່ານັ້ນ",
        "consent_record": "ບັນທຶກການໃຫ້ຄວາມຍິນຍອມ",
        "record_id": "ລະຫັດບັນທຶກ",
        "individual_id": "ລະຫັດບຸກຄົນ (ຕາມ Consent BB)",
        "opt_in": "ຍິນຍອມ",
        "state": "ສະຖານະ",
        "state_unsigned": "ຍັງບໍ່ໄດ້ລົງລາຍເຊັນ", "state_pending": "ລໍຖ້າ", "state_signed": "ລົງລາຍເຊັນແລ້ວ",
        "created": "ສ້າງເມື່ອ (UTC)",
        "no_records": "ບໍ່ມີບັນທຶກ",
        "record_not_found": "ບໍ່ພົບບັນທຶກທີ່ມີລະຫັດນີ້",
        "agreement_invalid": "ລະຫັດຂໍ້ຕົກລົງນີ້ບໍ່ຖືກຮູບແບບ",
        "consent_refused": "Consent BB ໃຫ້ອ່ານຂໍ້ມູນການກວດສອບຜ່ານ portal ສະເພາະບົດບາດ auditor ເທົ່ານັ້ນ",
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
        "gateway_audit": "Gateway audit log",
        "gateway_audit_note": "Every administrative action at the gateway (Information Mediator), done or refused: who, what, when and the outcome. Oldest first, {n} per page",
        "seq": "No.",
        "target": "Target",
        "details": "Details",
        "outcome_success": "Done", "outcome_failure": "Refused or failed",
        "first_page": "First page",
        "next_page": "Next page",
        "position_invalid": "The position must be a whole number, 0 or more",
        "data_agreements": "Data agreements",
        "data_agreements_note": "Every data agreement the Consent BB holds, drafts included. Open one for its revision history and chain check",
        "data_agreement": "Data agreement",
        "agreement_id": "Agreement id",
        "purpose": "Purpose",
        "version": "Version",
        "lifecycle": "Lifecycle",
        "lifecycle_Draft": "Draft", "lifecycle_Complete": "Complete",
        "active": "Active",
        "yes": "Yes", "no": "No",
        "deleted": "Deleted",
        "no_agreements": "No data agreements",
        "agreement_not_found": "No data agreement has this id",
        "revisions": "Revision history",
        "revisions_note": "Every change in chain order: each revision names the hash of the one before it",
        "revision": "Revision",
        "authorized_by": "Authorised by",
        "hash": "Hash",
        "predecessor_hash": "Previous revision's hash",
        "chain_check": "Chain check",
        "chain_valid": "Verified: the history is complete and unaltered ({n} chains checked)",
        "chain_broken": "Broken: {n} chains do not verify",
        "broken_revision": "First broken revision",
        "chain_unchecked": "The Consent BB did not check this chain",
        "consent_records": "Consent records",
        "consent_records_note": "The consent records the Consent BB holds, oldest first. Individuals appear only by the id the Consent BB gives them",
        "consent_record": "Consent record",
        "record_id": "Record id",
        "individual_id": "Individual id (as the Consent BB gives it)",
        "opt_in": "Opted in",
        "state": "State",
        "state_unsigned": "Unsigned", "state_pending": "Pending", "state_signed": "Signed",
        "created": "Created (UTC)",
        "no_records": "No consent records",
        "record_not_found": "No consent record has this id",
        "agreement_invalid": "This is not a data agreement id",
        "consent_refused": "Through the portal, the Consent BB answers audit reads for the auditor role only",
    },
}


def _auditor(staff: Staff) -> WebSession:
    if not AUDIT_ROLES & set(staff.roles.split()):
        raise NotPermitted(staff)
    return staff


Auditor = Annotated[WebSession, Depends(_auditor)]


def _page(request: Request, name: str, staff: WebSession, *, status: int = 200, **context) -> HTMLResponse:
    lang = language(request)
    # bilingual: consent's texts carry both languages ("ລາວ / English"); the page shows the reader's.
    return render_console(request, name, staff=staff, status=status, a=TEXT[lang], bilingual=partial(i18n.bilingual, lang=lang), **context)


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


def _position(value: str) -> int | None:
    """A page's start (the gateway's `after`, consent's `offset`) from the query; None when it is not one."""
    value = value.strip() or "0"
    # Length first: int() refuses strings of thousands of digits with a ValueError.
    return int(value) if len(value) <= 10 and value.isascii() and value.isdigit() and int(value) <= MAX_POSITION else None


@router.get("/gateway", response_class=HTMLResponse)
def list_gateway_audit(request: Request, staff: Auditor, bb: StaffBlocks, after: str = ""):
    """The gateway's own audit log as its API pages it: by sequence number, after the last one seen."""
    a = TEXT[language(request)]
    start = _position(after)
    if start is None:
        return _page(request, "audit_gateway.html", staff, status=400, error=a["position_invalid"], entries=None, limit=PAGE_SIZE)
    entries = bb.call_gateway("GET", "api/v1/audit", params={"after": start, "limit": PAGE_SIZE}).json()
    following = entries[-1]["seq"] if len(entries) == PAGE_SIZE else None
    return _page(request, "audit_gateway.html", staff, entries=entries, after=start, following=following, limit=PAGE_SIZE)


def _consent_audit(bb: BuildingBlocks, path: str, **params) -> httpx.Response:
    # 400 is consent's answer to an unknown or malformed id; 403 to a staff token without the auditor role (an admin's).
    return bb.call("GET", CONSENT, f"audit/{path}", params=params, expected=(400, 403))


def _chain_check(bb: BuildingBlocks, schema_name: str, object_id: str) -> dict | None:
    checked = _consent_audit(bb, "verify/", schemaName=schema_name, objectId=object_id)
    return checked.json() if checked.status_code == 200 else None


def _listed(response: httpx.Response, key: str) -> list[dict]:
    if response.status_code != 200:  # a 400 to a page start or filter this module checked first: not the auditor's doing
        raise Unavailable(response.status_code, response.text[:500])
    return response.json().get(key, [])


def _is_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and value.isprintable()


@router.get("/consent/agreements", response_class=HTMLResponse)
def list_data_agreements(request: Request, staff: Auditor, bb: StaffBlocks, offset: str = ""):
    a = TEXT[language(request)]

    def page(*, status: int = 200, error: str | None = None, agreements: list | None = None, start: int = 0) -> HTMLResponse:
        following = start + PAGE_SIZE if agreements is not None and len(agreements) == PAGE_SIZE else None
        return _page(request, "audit_agreements.html", staff, status=status, error=error, agreements=agreements, following=following)

    start = _position(offset)
    if start is None:
        return page(status=400, error=a["position_invalid"])
    listed = _consent_audit(bb, "data-agreements/", offset=start, limit=PAGE_SIZE)
    if listed.status_code == 403:
        return page(status=403, error=a["consent_refused"])
    return page(agreements=_listed(listed, "dataAgreements"), start=start)


def _consent_object(request: Request, staff: WebSession, bb: StaffBlocks, *, name: str, object_id: str, path: str, key: str,
                    schema: str, template: str, not_found: str) -> HTMLResponse:
    """One of consent's audited objects as it reads now (body[key]), every revision of it, and consent's check of that
    chain; the template gets it as `name`, with its id as `name`_id."""
    a = TEXT[language(request)]
    found = _consent_audit(bb, f"{path}/{segment(object_id)}/") if _is_id(object_id) else None
    if found is None or found.status_code != 200:
        refused = found is not None and found.status_code == 403
        return _page(request, template, staff, status=403 if refused else 404, error=a["consent_refused" if refused else not_found],
                     **{f"{name}_id": object_id[:MAX_ID], name: None})
    body = found.json()
    return _page(request, template, staff, revisions=body.get("revisions", []), check=_chain_check(bb, schema, object_id),
                 **{f"{name}_id": object_id, name: body.get(key) or {}})


@router.get("/consent/agreements/{agreement_id}", response_class=HTMLResponse)
def get_data_agreement(agreement_id: str, request: Request, staff: Auditor, bb: StaffBlocks):
    return _consent_object(request, staff, bb, name="agreement", object_id=agreement_id, path="data-agreement", key="dataAgreement",
                           schema="DataAgreement", template="audit_agreement.html", not_found="agreement_not_found")


@router.get("/consent/records", response_class=HTMLResponse)
def list_consent_records(request: Request, staff: Auditor, bb: StaffBlocks, agreement: str = "", offset: str = ""):
    """Consent records, of one data agreement if one is chosen; consent names individuals by its own ids only."""
    a = TEXT[language(request)]
    agreement = agreement.strip()

    def page(*, status: int = 200, error: str | None = None, records: list | None = None, agreements: list | None = None,
             start: int = 0) -> HTMLResponse:
        following = start + PAGE_SIZE if records is not None and len(records) == PAGE_SIZE else None
        return _page(request, "audit_records.html", staff, status=status, error=error, records=records, agreements=agreements or [],
                     chosen=agreement[:MAX_ID], following=following)

    start = _position(offset)
    if start is None:
        return page(status=400, error=a["position_invalid"])
    if agreement and not _is_id(agreement):
        return page(status=400, error=a["agreement_invalid"])
    # The filter offers the agreements' first page; an agreement beyond it can still be named in the address.
    found = _consent_audit(bb, "data-agreements/", limit=PAGE_SIZE)
    if found.status_code == 403:
        return page(status=403, error=a["consent_refused"])
    agreements = _listed(found, "dataAgreements")
    params = {"offset": start, "limit": PAGE_SIZE, **({"dataAgreementId": agreement} if agreement else {})}
    listed = _consent_audit(bb, "consent-records/", **params)
    if listed.status_code == 400:  # consent refused the agreement id's form
        return page(status=400, error=a["agreement_invalid"], agreements=agreements)
    return page(records=_listed(listed, "consentRecords"), agreements=agreements, start=start)


@router.get("/consent/records/{record_id}", response_class=HTMLResponse)
def get_consent_record(record_id: str, request: Request, staff: Auditor, bb: StaffBlocks):
    return _consent_object(request, staff, bb, name="record", object_id=record_id, path="consent-record", key="consentRecord",
                           schema="ConsentRecord", template="audit_record.html", not_found="record_not_found")
