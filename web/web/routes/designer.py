"""Designer console: e-services as YAML/JSON documents over registration's designer API: list, create, edit with live
validation, preview the form as a citizen sees it, publish."""
import re
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from kernel import safejson
from kernel.db import UowDep
from web import catalogue, i18n, sessions
from web.bb import BuildingBlocks, segment
from web.console import CATALOGS, console_error, not_found, render_console
from web.models import WebSession
from web.pages import language
from web.routes.deps import NotPermitted, Staff, StaffBlocks

router = APIRouter(prefix="/designer", tags=["designer"], include_in_schema=False)
REG = "registration"
DESIGNS = "designer/services"
MAX_DOCUMENT_CHARS = 500_000
DESIGN_ROLES = {"designer", "admin"}  # what registration's designer API asks for

STARTER = """\
code: NEWSVC
name: {en: New e-service, lo: ການບໍລິການໃໝ່}
description: {en: What the service is for, lo: ຈຸດປະສົງຂອງການບໍລິການ}
type: Public
registrations:
  - code: NEWSVC
    name: {en: Certificate, lo: ໃບຢັ້ງຢືນ}
eforms:
  - id: newsvc-application
    name: Application
    version: "1"
    sections:  # the wizard's groups of fields, in order
      - {id: applicant, title: {en: The applicant, lo: ຜູ້ຍື່ນຄຳຮ້ອງ}}
    schema:
      type: object
      required: [full_name]
      properties:
        full_name: {type: string, minLength: 2, maxLength: 200}
    fields:
      full_name:
        label: {en: Full name, lo: ຊື່ ແລະ ນາມສະກຸນ}
        classification: personal
        layout: {section: applicant, order: 1, widget: text}
documents:  # what the applicant uploads / ເອກະສານທີ່ຜູ້ຍື່ນອັບໂຫຼດ
  - type: supporting_document
    label: {en: Supporting document, lo: ເອກະສານປະກອບ}
    content_types: [application/pdf, image/jpeg, image/png]
    max_bytes: 5000000
    required: false
    # Which roles see the upload, as for a field: public, internal, personal or sensitive_personal (left out: sensitive_personal).
    # ບົດບາດໃດເຫັນເອກະສານນີ້ ຄືກັບຊ່ອງຂໍ້ມູນ: public, internal, personal ຫຼື sensitive_personal (ບໍ່ລະບຸ: sensitive_personal).
    classification: personal
roles:
  - id: reviewer
    name: {en: Reviewer, lo: ຜູ້ກວດກາ}
    operator_roles: [newsvc_reviewer]
    sees: [public, internal, personal]
    decisions: {approve: end, reject: end, send_back: applicant}
steps:
  - type: require_signed_in_citizen
"""


# The designer's own texts, beside web.console.CATALOGS (the texts the staff consoles share).
TEXTS = {
    "lo": {
        "classification_help": "ທຸກຊ່ອງຂໍ້ມູນ (fields) ແລະ ບ່ອນອັບໂຫຼດເອກະສານ (documents) ມີການຈັດປະເພດຂໍ້ມູນ classification: public, internal, "
                               "personal ຫຼື sensitive_personal. ບົດບາດໜຶ່ງເຫັນສະເພາະປະເພດທີ່ລະບຸໃນ sees ຂອງມັນ; ລາຍການທີ່ບໍ່ໄດ້ລະບຸ ນັບເປັນ sensitive_personal.",
        "unclassified_title": "ຊ່ອງຂໍ້ມູນ ແລະ ເອກະສານທີ່ບໍ່ມີການຈັດປະເພດຂໍ້ມູນ",
        "unclassified_note": "ລາຍການເຫຼົ່ານີ້ນັບເປັນ sensitive_personal: ສະເພາະບົດບາດທີ່ເຫັນຂໍ້ມູນສ່ວນບຸກຄົນທີ່ອ່ອນໄຫວເທົ່ານັ້ນຈຶ່ງເຫັນ, "
                             "ຜູ້ກວດກາອື່ນອາດບໍ່ເຫັນ. ກະລຸນາກຳນົດ classification ໃຫ້ແຕ່ລະລາຍການ.",
        "unclassified_fields": "ຊ່ອງຂໍ້ມູນ",
        "unclassified_documents": "ບ່ອນອັບໂຫຼດເອກະສານ",
    },
    "en": {
        "classification_help": "Every form field and document slot has a classification: public, internal, personal or sensitive_personal. "
                               "A role sees only the classifications its sees list names; an item without one counts as sensitive_personal.",
        "unclassified_title": "Fields and document slots without a classification",
        "unclassified_note": "These count as sensitive_personal: only roles that see sensitive personal data see them, so other "
                             "reviewers may not. Give each one a classification.",
        "unclassified_fields": "Fields",
        "unclassified_documents": "Document slots",
    },
}


def _designer(staff: Staff, uow: UowDep) -> WebSession:
    if not DESIGN_ROLES & set(staff.roles.split()):
        uow.session.expunge(staff)  # the error page still shows who is signed in, after the unit of work has closed
        raise NotPermitted(staff)
    return staff


Designer = Annotated[WebSession, Depends(_designer)]


class Unreadable(ValueError):
    """The text is not a YAML/JSON object; the message says where."""


def parse(text: str) -> dict:
    """The document in the text area: YAML, of which JSON is a subset."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise Unreadable(f"longer than {MAX_DOCUMENT_CHARS} characters")
    try:
        document = safejson.load_yaml(text)
    except RecursionError:
        raise Unreadable("nested too deeply")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise Unreadable(where + str(getattr(exc, "problem", None) or "not YAML"))
    if not isinstance(document, dict):
        raise Unreadable("not an object")
    if safejson.unsafe_text(document):  # "\\0" or "\\ud800" escapes: no service can store or even encode them
        raise Unreadable("a NUL character or a lone surrogate escape")
    return document


def as_text(document: dict) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


# The Registration BB and parse() state problems in English; in Lao, each known reason in Lao (what it quotes from the
# document, or a JSON Schema / YAML parser message, stays as written). An unknown reason keeps its English after a Lao prefix.
_LAO_REASONS = [(re.compile(pattern), lao) for pattern, lao in [
    (r"required: a non-empty text", "ຕ້ອງມີ: ຂໍ້ຄວາມທີ່ບໍ່ຫວ່າງ"),
    (r"must be an object with 'en' and 'lo' texts", "ຕ້ອງເປັນ object ທີ່ມີຂໍ້ຄວາມ 'en' ແລະ 'lo'"),
    (r"required: a non-empty list", "ຕ້ອງມີ: ລາຍການ (list) ທີ່ບໍ່ຫວ່າງ"),
    (r"must be a non-empty list", "ຕ້ອງເປັນລາຍການ (list) ທີ່ບໍ່ຫວ່າງ"),
    (r"must be a list", "ຕ້ອງເປັນລາຍການ (list)"),
    (r"must be an object", "ຕ້ອງເປັນ object"),
    (r"(?:required|must be): 1-64 letters, digits or \. _ : # -|must be 1-64 letters, digits or \. _ : # -",
     "ຕ້ອງມີ 1-64 ຕົວອັກສອນ, ຕົວເລກ ຫຼື . _ : # -"),
    (r"duplicate (\S+) '(.*)'", "{0} '{1}' ຊ້ຳກັນ"),
    (r"required: 2-20 capital letters or digits, starting with a letter \(used in registration numbers\)",
     "ຕ້ອງມີ: ຕົວອັກສອນພິມໃຫຍ່ ຫຼື ຕົວເລກ 2-20 ຕົວ ເລີ່ມດ້ວຍຕົວອັກສອນ (ໃຊ້ໃນເລກທະບຽນ)"),
    (r"must be one of (.+)", "ຕ້ອງເປັນໜຶ່ງໃນ {0}"),
    (r"required: one of (.+)", "ຕ້ອງມີ: ໜຶ່ງໃນ {0}"),
    (r"must be a whole number of days from 1 to 3650 .*", "ຕ້ອງເປັນຈຳນວນມື້ເຕັມ ແຕ່ 1 ຫາ 3650 (ກຳນົດການຕັດສິນຫຼັງຍື່ນຄຳຮ້ອງ)"),
    (r"must be 'mandatory' or 'optional'", "ຕ້ອງເປັນ 'mandatory' ຫຼື 'optional'"),
    (r"required: a number not below 0", "ຕ້ອງມີ: ຕົວເລກທີ່ບໍ່ຕ່ຳກວ່າ 0"),
    (r"required: an ISO 4217 code such as LAK", "ຕ້ອງມີ: ລະຫັດສະກຸນເງິນ ISO 4217 ເຊັ່ນ LAK"),
    (r"must name a number or integer field of one of the service's e-forms", "ຕ້ອງລະບຸຊ່ອງຂໍ້ມູນປະເພດຕົວເລກ ຂອງແບບຟອມໃດໜຶ່ງຂອງການບໍລິການ"),
    (r"required: a JSON Schema object", "ຕ້ອງມີ: JSON Schema (object)"),
    (r"not a valid JSON Schema: (.*)", "ບໍ່ແມ່ນ JSON Schema ທີ່ຖືກຕ້ອງ: {0}"),
    (r"must be 'object': a form is an object of fields", "ຕ້ອງເປັນ 'object': ແບບຟອມແມ່ນ object ຂອງຊ່ອງຂໍ້ມູນ"),
    (r"must be an object keyed by field name", "ຕ້ອງເປັນ object ທີ່ໃຊ້ຊື່ຊ່ອງຂໍ້ມູນເປັນ key"),
    (r"missing: every schema property needs labels and a classification", "ຂາດ: ທຸກ property ຂອງ schema ຕ້ອງມີປ້າຍຊື່ ແລະ ການຈັດປະເພດຂໍ້ມູນ"),
    (r"not a property of the form's schema", "ບໍ່ແມ່ນ property ຂອງ schema ຂອງແບບຟອມ"),
    (r"must be an object \(section, order, widget\)", "ຕ້ອງເປັນ object (section, order, widget)"),
    (r"must be an integer", "ຕ້ອງເປັນຈຳນວນເຕັມ"),
    (r"must name one of the form's sections \((.*)\)", "ຕ້ອງລະບຸໜຶ່ງໃນພາກສ່ວນຂອງແບບຟອມ ({0})"),
    (r"only a field whose schema has an enum can label its options", "ສະເພາະຊ່ອງຂໍ້ມູນທີ່ schema ມີ enum ເທົ່ານັ້ນ ຈຶ່ງຕັ້ງປ້າຍໃຫ້ຕົວເລືອກໄດ້"),
    (r"must be an object from each enum value to its 'en' and 'lo' labels", "ຕ້ອງເປັນ object ຈາກແຕ່ລະຄ່າຂອງ enum ໄປຫາປ້າຍ 'en' ແລະ 'lo'"),
    (r"not a value of the field's enum", "ບໍ່ແມ່ນຄ່າໃນ enum ຂອງຊ່ອງຂໍ້ມູນນີ້"),
    (r"missing: every enum value needs a label once any has one", "ຂາດ: ເມື່ອຄ່າໃດໜຶ່ງມີປ້າຍແລ້ວ ທຸກຄ່າຂອງ enum ຕ້ອງມີປ້າຍ"),
    (r"required: a non-empty list of media types such as application/pdf", "ຕ້ອງມີ: ລາຍການປະເພດໄຟລ໌ (media type) ເຊັ່ນ application/pdf"),
    (r"required: a positive number of bytes", "ຕ້ອງມີ: ຈຳນວນ byte ທີ່ຫຼາຍກວ່າ 0"),
    (r"must be true or false", "ຕ້ອງເປັນ true ຫຼື false"),
    (r"required: the token roles of the operators who work in this role", "ຕ້ອງມີ: ບົດບາດ (token roles) ຂອງເຈົ້າໜ້າທີ່ທີ່ເຮັດວຽກໃນບົດບາດນີ້"),
    (r"required: a list of the classifications this role may see \((.*)\)", "ຕ້ອງມີ: ລາຍການປະເພດຂໍ້ມູນທີ່ບົດບາດນີ້ເບິ່ງໄດ້ ({0})"),
    (r"required: an object from decision \(approve, reject, send_back\) to where it routes",
     "ຕ້ອງມີ: object ຈາກການຕັດສິນ (approve, reject, send_back) ໄປຫາບ່ອນທີ່ສົ່ງຕໍ່"),
    (r"unknown decision; allowed: (.*)", "ການຕັດສິນທີ່ບໍ່ຮູ້ຈັກ; ອະນຸຍາດ: {0}"),
    (r"a decision cannot route a file back to the role that made it", "ການຕັດສິນບໍ່ສາມາດສົ່ງແຟ້ມກັບຄືນຫາບົດບາດທີ່ຕັດສິນເອງໄດ້"),
    (r"routes to '(.*)', which is neither a role of this service nor (.*)", "ສົ່ງຕໍ່ໄປ '{0}' ເຊິ່ງບໍ່ແມ່ນບົດບາດຂອງການບໍລິການນີ້ ແລະ ບໍ່ແມ່ນ {1}"),
    (r"'(.*)' appears twice", "'{0}' ມີສອງເທື່ອ"),
    (r"required: the Consent BB data agreement the applicant must agree to", "ຕ້ອງມີ: ຂໍ້ຕົກລົງການນຳໃຊ້ຂໍ້ມູນ (Consent BB) ທີ່ຜູ້ຍື່ນຕ້ອງຍິນຍອມ"),
    (r"must be an object from (.*) to a form field", "ຕ້ອງເປັນ object ຈາກ {0} ໄປຫາຊ່ອງຂໍ້ມູນຂອງແບບຟອມ"),
    (r"unknown contact; allowed: (.*)", "ຊ່ອງທາງຕິດຕໍ່ທີ່ບໍ່ຮູ້ຈັກ; ອະນຸຍາດ: {0}"),
    (r"must name a field of one of the service's e-forms", "ຕ້ອງລະບຸຊ່ອງຂໍ້ມູນຂອງແບບຟອມໃດໜຶ່ງຂອງການບໍລິການ"),
    (r"the service document must be an object", "ເອກະສານການບໍລິການຕ້ອງເປັນ object"),
    (r"cannot change once the e-service exists", "ບໍ່ສາມາດປ່ຽນໄດ້ ເມື່ອມີການບໍລິການນີ້ແລ້ວ"),
    # parse()'s own reasons
    (r"line (\d+), column (\d+): (.*)", "ແຖວ {0}, ຖັນ {1}: {2}"),
    (r"longer than (\d+) characters", "ຍາວເກີນ {0} ຕົວອັກສອນ"),
    (r"nested too deeply", "ຊ້ອນກັນຫຼາຍຊັ້ນເກີນໄປ"),
    (r"not an object", "ບໍ່ແມ່ນ object (key: value)"),
    (r"not YAML", "ບໍ່ແມ່ນ YAML"),
    (r"a NUL character or a lone surrogate escape", "ມີຕົວອັກສອນ NUL ຫຼື surrogate escape ທີ່ບໍ່ມີຄູ່"),
]]
UNTRANSLATED = "ບັນຫາ (ພາສາອັງກິດ): "


def lao_reason(reason: str) -> str:
    for pattern, lao in _LAO_REASONS:
        match = pattern.fullmatch(reason)
        if match:
            return lao.format(*match.groups())
    return UNTRANSLATED + reason


def _localised(request: Request, problem: dict) -> dict:
    return {**problem, "reason": lao_reason(problem["reason"])} if language(request) == "lo" else problem


def _syntax_problem(request: Request, error: Unreadable) -> dict:
    detail = lao_reason(str(error)) if language(request) == "lo" else str(error)
    return {"field": "", "reason": CATALOGS[language(request)]["syntax_error"].format(detail=detail)}


def _problems(response) -> list[dict]:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return [{"field": str(p.get("field", "")), "reason": str(p.get("reason", ""))} for p in body.get("problems") or body.get("details") or []]


@router.get("", response_class=HTMLResponse)
def list_designs(request: Request, staff: Designer, bb: StaffBlocks):
    return render_console(request, "designer_list.html", staff=staff, designs=bb.call("GET", REG, DESIGNS).json())


def _editor(request: Request, staff, *, text: str, design: dict | None, problems: list[dict], status: int = 200,
            notice: str | None = None, error: str | None = None, checked: bool | None = None) -> HTMLResponse:
    return render_console(request, "designer_edit.html", staff=staff, status=status, text=text, design=design,
                          problems=[_localised(request, p) for p in problems], notice=notice, error=error, d=TEXTS[language(request)],
                          checked=design is not None or bool(problems) if checked is None else checked)


def _kept_document(request: Request, uow) -> str | None:
    """The document posted when the sign-in had ended, kept across the new sign-in for this page."""
    kept = sessions.take_kept_form(request, uow, request.url.path)
    uow.commit()
    document = kept.get("document") if kept is not None else None
    return document if isinstance(document, str) else None


@router.get("/new", response_class=HTMLResponse)
def new_design(request: Request, staff: Designer, uow: UowDep):
    kept = _kept_document(request, uow)
    notice = i18n.CATALOGS[language(request)]["work_restored"] if kept is not None else None
    return _editor(request, staff, text=STARTER if kept is None else kept, design=None, problems=[], notice=notice)


@router.post("/new")
async def create_design(request: Request, staff: Designer, bb: StaffBlocks):
    text = str((await request.form()).get("document") or "")
    try:
        document = parse(text)
    except Unreadable as error:
        return _editor(request, staff, text=text, design=None, problems=[_syntax_problem(request, error)], status=400)
    created = bb.call("POST", REG, DESIGNS, json=document)
    if created.status_code == 409:
        return _editor(request, staff, text=text, design=None, problems=[], status=409, error=CATALOGS[language(request)]["service_exists"])
    if created.status_code != 201:
        return _editor(request, staff, text=text, design=None, problems=_problems(created), status=400)
    return RedirectResponse(f"/designer/services/{segment(created.json()['id'])}?saved={created.json()['version']}", status_code=303)


def _design(bb: BuildingBlocks, service_id: str) -> dict | None:
    response = bb.call("GET", REG, f"{DESIGNS}/{segment(service_id)}")
    return response.json() if response.status_code == 200 else None


@router.get("/services/{service_id}", response_class=HTMLResponse)
def get_design(service_id: str, request: Request, staff: Designer, bb: StaffBlocks, uow: UowDep, saved: int | None = None,
               published: int | None = None):
    design = _design(bb, service_id)
    if design is None:
        return not_found(request, staff)
    c = CATALOGS[language(request)]
    notice = c["saved"].format(n=saved) if saved else c["published"].format(n=published) if published else None
    kept = _kept_document(request, uow)
    if kept is not None:  # the edits are shown unsaved, over the stored version, for the designer to save
        return _editor(request, staff, text=kept, design=design, problems=[], notice=i18n.CATALOGS[language(request)]["work_restored"],
                       checked=False)  # not checked yet: the live validation checks it
    return _editor(request, staff, text=as_text(design["document"]), design=design, problems=design["problems"], notice=notice)


@router.post("/services/{service_id}")
async def revise_design(service_id: str, request: Request, staff: Designer, bb: StaffBlocks):
    design = _design(bb, service_id)
    if design is None:
        return not_found(request, staff)
    text = str((await request.form()).get("document") or "")
    try:
        document = parse(text)
    except Unreadable as error:
        return _editor(request, staff, text=text, design=design, problems=[_syntax_problem(request, error)], status=400)
    revised = bb.call("PUT", REG, f"{DESIGNS}/{segment(service_id)}", json=document)
    if revised.status_code != 200:
        return _editor(request, staff, text=text, design=design, problems=_problems(revised), status=400)
    return RedirectResponse(f"/designer/services/{segment(service_id)}?saved={revised.json()['version']}", status_code=303)


@router.post("/validate")
async def validate_design(request: Request, staff: Designer, bb: StaffBlocks) -> JSONResponse:
    """Live validation for the editor's script: {valid, problems: [{field, reason}]}, nothing stored."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        document = parse(text)
    except Unreadable as error:
        return JSONResponse({"valid": False, "problems": [_syntax_problem(request, error)]})
    checked = bb.call("POST", REG, f"{DESIGNS}/validate", json=document)
    return JSONResponse({"valid": checked.status_code == 200 and checked.json()["valid"],
                         "problems": [_localised(request, p) for p in _problems(checked)]})


@router.post("/services/{service_id}/publish")
def publish_design(service_id: str, request: Request, staff: Designer, bb: StaffBlocks):
    published = bb.call("POST", REG, f"{DESIGNS}/{segment(service_id)}/publish")
    if published.status_code == 404:
        return not_found(request, staff)
    if published.status_code != 200:
        design = _design(bb, service_id)
        return _editor(request, staff, text=as_text(design["document"]), design=design, problems=_problems(published), status=400)
    return RedirectResponse(f"/designer/services/{segment(service_id)}?published={published.json()['version']}", status_code=303)


def _objects(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def catalogue_entry(document: dict) -> dict:
    """The draft in the shape of registration's public catalogue entry, so the preview lays the form out as citizens see it.
    A draft may be broken anywhere: what is malformed is left out of the preview (the problems list names it)."""
    eforms = []
    for eform in _objects(document.get("eforms")):
        fields = eform.get("fields") if isinstance(eform.get("fields"), dict) else {}
        described = [(name, field, field.get("layout") if isinstance(field.get("layout"), dict) else {})
                     for name, field in fields.items() if isinstance(field, dict)]
        described.sort(key=lambda item: item[2].get("order") if _number(item[2].get("order")) else 0)
        eforms.append({"sections": _objects(eform.get("sections")),
                       "fields": [{"name": name, "label": field.get("label"), "widget": layout.get("widget"), "section": layout.get("section"),
                                   "options": [{"value": value, "label": label} for value, label in field["options"].items()]
                                   if isinstance(field.get("options"), dict) else []}
                                  for name, field, layout in described]})
    documents = [{"type": d["type"], "label": d.get("label"), "required": d.get("required") is True,
                  "contentTypes": _strings(d.get("content_types")),
                  "maxBytes": d.get("max_bytes") if _number(d.get("max_bytes")) else None}
                 for d in _objects(document.get("documents")) if isinstance(d.get("type"), str)]
    fees = [fee for registration in _objects(document.get("registrations")) for fee in _objects(registration.get("fees")) if _number(fee.get("amount"))]
    return {"eForms": eforms, "documents": documents, "fees": fees}


def _strings(value) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def preview_schema(document: dict) -> dict | None:
    """The first e-form's JSON Schema, keeping only properties the wizard can render."""
    eforms = _objects(document.get("eforms"))
    schema = eforms[0].get("schema") if eforms else None
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    rules = schema.get("allOf") if isinstance(schema.get("allOf"), list) else []  # e.g. a district list per province
    return {"properties": {name: rule for name, rule in schema["properties"].items() if isinstance(rule, dict)}, "required": required,
            "allOf": rules}


@router.get("/services/{service_id}/preview", response_class=HTMLResponse)
def preview_design(service_id: str, request: Request, staff: Designer, bb: StaffBlocks):
    design = _design(bb, service_id)
    if design is None:
        return not_found(request, staff)
    document, lang = design["document"], language(request)
    schema = preview_schema(document)
    if schema is None:
        return console_error(request, staff=staff, message_key="no_eform", status=400)
    entry = catalogue_entry(document)
    return render_console(request, "designer_preview.html", staff=staff, design=design, service_name=document.get("name"),
                          fields=catalogue.fields(schema, entry, lang), slots=catalogue.documents(entry, lang),
                          fees=catalogue.fees(entry, lang), values={}, errors={})
