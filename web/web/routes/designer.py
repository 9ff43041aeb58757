"""Designer console: e-services as YAML/JSON documents over registration's designer API: list, create, edit with live
validation, preview the form as a citizen sees it, publish."""
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from kernel import safejson
from kernel.db import UowDep
from web import catalogue
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
roles:
  - id: reviewer
    name: {en: Reviewer, lo: ຜູ້ກວດກາ}
    operator_roles: [newsvc_reviewer]
    sees: [public, internal, personal]
    decisions: {approve: end, reject: end, send_back: applicant}
steps:
  - type: require_signed_in_citizen
"""


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


def _syntax_problem(request: Request, error: Unreadable) -> dict:
    return {"field": "", "reason": CATALOGS[language(request)]["syntax_error"].format(detail=error)}


def _problems(response) -> list[dict]:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return [{"field": str(p.get("field", "")), "reason": str(p.get("reason", ""))} for p in body.get("problems") or body.get("details") or []]


@router.get("", response_class=HTMLResponse)
def list_designs(request: Request, staff: Designer, bb: StaffBlocks):
    return render_console(request, "designer_list.html", staff=staff, designs=bb.call("GET", REG, DESIGNS).json())


def _editor(request: Request, staff, *, text: str, design: dict | None, problems: list[dict], status: int = 200,
            notice: str | None = None, error: str | None = None) -> HTMLResponse:
    return render_console(request, "designer_edit.html", staff=staff, status=status, text=text, design=design, problems=problems,
                          notice=notice, error=error, checked=design is not None or bool(problems))


@router.get("/new", response_class=HTMLResponse)
def new_design(request: Request, staff: Designer):
    return _editor(request, staff, text=STARTER, design=None, problems=[])


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
def get_design(service_id: str, request: Request, staff: Designer, bb: StaffBlocks, saved: int | None = None, published: int | None = None):
    design = _design(bb, service_id)
    if design is None:
        return not_found(request, staff)
    c = CATALOGS[language(request)]
    notice = c["saved"].format(n=saved) if saved else c["published"].format(n=published) if published else None
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
    return JSONResponse({"valid": checked.status_code == 200 and checked.json()["valid"], "problems": _problems(checked)})


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
    return {"properties": {name: rule for name, rule in schema["properties"].items() if isinstance(rule, dict)}, "required": required}


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
