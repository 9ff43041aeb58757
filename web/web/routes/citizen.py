"""Citizen pages: the service catalogue, the e-form wizard over drafts, documents, submission, my applications."""
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from web import i18n
from web.bb import BuildingBlocks
from web.pages import language, render
from web.routes.deps import Citizen, CitizenBlocks

router = APIRouter(tags=["citizen"], include_in_schema=False)
REG = "registration"


def _id(value: str) -> str:
    # Ids from the browser go into the gateway path as one segment each: "..", "/" or "?" cannot steer the call elsewhere.
    return quote(value, safe="")


def _not_found(request: Request, user) -> HTMLResponse:
    return render(request, "error.html", status=404, user=user, message_key="error_not_found")


@router.get("/services", response_class=HTMLResponse)
def list_services(request: Request, citizen: Citizen, bb: CitizenBlocks):
    services = bb.call("GET", REG, "services").json()
    return render(request, "services.html", user=citizen, services=services)


@router.post("/services/{service_id}/apply")
def start_application(service_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    """A new draft on the service's e-form; the wizard then works on that draft."""
    eforms = bb.call("GET", REG, f"services/{_id(service_id)}/eForms")
    if eforms.status_code != 200 or not eforms.json():
        return _not_found(request, citizen)
    created = bb.call("POST", REG, f"services/{_id(service_id)}/drafts", json={"formData": {"eFormId": eforms.json()[0]["eFormId"], "data": {}},
                                                                         "language": language(request)})
    if created.status_code != 201:
        return _not_found(request, citizen)
    return RedirectResponse(f"/drafts/{created.json()['fileId']}", status_code=303)


def _form(bb: BuildingBlocks, eform_id: str) -> dict:
    response = bb.call("GET", REG, f"eForms/{_id(eform_id)}")
    return response.json().get("schema", {}) if response.status_code == 200 else {}


def _fields(schema: dict, lang: str) -> list[dict]:
    """What the page shows per property of the e-form's JSON Schema, in schema order."""
    required = set(schema.get("required", []))
    fields = []
    for name, rule in (schema.get("properties") or {}).items():
        kind = "select" if "enum" in rule else "number" if rule.get("type") in ("integer", "number") else "text"
        fields.append({"name": name, "label": i18n.text(rule.get("title"), lang) or name.replace("_", " ").capitalize(),
                       "kind": kind, "options": rule.get("enum", []), "required": name in required,
                       "step": "1" if rule.get("type") == "integer" else "any"})
    return fields


def _values(form, schema: dict) -> dict:
    """Form strings as the schema's types; empty fields are left out, so the API can say they are required."""
    data = {}
    for name, rule in (schema.get("properties") or {}).items():
        raw = form.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        value = raw.strip()
        try:
            if rule.get("type") == "integer":
                value = int(value)
            elif rule.get("type") == "number":
                value = float(value)
        except ValueError:
            pass  # sent as typed; the API answers with the field's type error
        data[name] = value
    return data


def _errors(details: list, lang: str) -> tuple[dict, dict]:
    """The API's field problems as localised messages: e-form fields, and document types that are missing."""
    fields, documents = {}, {}
    for problem in details or []:
        field, reason = str(problem.get("field", "")), str(problem.get("reason", ""))
        for prefix in ("formData.data.", "data."):
            field = field.removeprefix(prefix)
        if field.startswith("documents."):
            documents[field.removeprefix("documents.")] = i18n.validation_message(reason, lang)
        else:
            fields[field] = i18n.validation_message(reason, lang)
    return fields, documents


def _draft(bb: BuildingBlocks, draft_id: str) -> dict | None:
    response = bb.call("GET", REG, f"drafts/{_id(draft_id)}")
    return response.json() if response.status_code == 200 else None


def _wizard(request: Request, citizen, bb: BuildingBlocks, draft: dict, *, status: int = 200, errors=None, document_errors=None,
            values=None, notice: str | None = None, action: str | None = None) -> HTMLResponse:
    lang = language(request)
    form_data = draft["applicationData"]["formData"]
    schema = _form(bb, form_data["eFormId"])
    fields = _fields(schema, lang)
    names = {field["name"] for field in fields}
    other_errors = [message for name, message in (errors or {}).items() if name not in names]  # e.g. a document that is not ours
    return render(request, "wizard.html", status=status, user=citizen, draft=draft, fields=fields, other_errors=other_errors,
                  values=values if values is not None else form_data.get("data", {}), errors=errors or {},
                  document_errors=document_errors or {}, documents=draft["applicationData"].get("documentUrls", []), notice=notice,
                  action=action or f"/drafts/{draft['fileId']}")


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def get_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, saved: bool = False, missing: str = ""):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    t = i18n.CATALOGS[language(request)]
    document_errors = {kind: t["v_document_missing"] for kind in missing.split(",") if kind}
    return _wizard(request, citizen, bb, draft, notice=t["draft_saved"] if saved else None, document_errors=document_errors)


@router.post("/drafts/{draft_id}")
async def save_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    form = await request.form()
    schema = _form(bb, draft["applicationData"]["formData"]["eFormId"])
    data = _values(form, schema)
    saved = bb.call("PUT", REG, f"drafts/{_id(draft_id)}", json={"formData": {"data": data}, "language": language(request)})
    if saved.status_code != 200:
        fields, _ = _errors(saved.json().get("details", []), language(request))
        return _wizard(request, citizen, bb, draft, status=400, errors=fields, values=data)
    if form.get("action") == "review":
        return RedirectResponse(f"/drafts/{_id(draft_id)}/review", status_code=303)
    return RedirectResponse(f"/drafts/{draft_id}?saved=1", status_code=303)


@router.post("/drafts/{draft_id}/documents")
async def upload_document(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, file: UploadFile,
                          document_type: str = Form("")):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    content = await file.read()
    params = {"serviceId": draft["serviceId"], "documentType": document_type} if document_type else {}
    uploaded = bb.call("POST", REG, "documents", params=params, files={"file": (file.filename or "upload", content, file.content_type)})
    t = i18n.CATALOGS[language(request)]
    if uploaded.status_code != 200:
        message = {413: t["v_upload_size"], 415: t["v_upload_type"]}.get(uploaded.status_code, t["v_invalid"])
        return _wizard(request, citizen, bb, draft, status=400, document_errors={document_type or "file": message})
    urls = [*draft["applicationData"].get("documentUrls", []), uploaded.json()["url"]]
    bb.call("PUT", REG, f"drafts/{_id(draft_id)}", json={"documentUrls": urls})
    return RedirectResponse(f"/drafts/{draft_id}?saved=1", status_code=303)


@router.get("/drafts/{draft_id}/review", response_class=HTMLResponse)
def review_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    schema = _form(bb, draft["applicationData"]["formData"]["eFormId"])
    return render(request, "review.html", user=citizen, draft=draft, fields=_fields(schema, language(request)),
                  values=draft["applicationData"]["formData"].get("data", {}), confirm_error=False)


@router.post("/drafts/{draft_id}/submit")
async def submit_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    form = await request.form()
    if form.get("confirm") != "yes":
        schema = _form(bb, draft["applicationData"]["formData"]["eFormId"])
        return render(request, "review.html", status=400, user=citizen, draft=draft, fields=_fields(schema, language(request)),
                      values=draft["applicationData"]["formData"].get("data", {}), confirm_error=True)
    submitted = bb.call("POST", REG, f"drafts/{_id(draft_id)}/submit", json={"confirm": True})
    if submitted.status_code != 200:
        fields, documents = _errors(submitted.json().get("details", []), language(request))
        t = i18n.CATALOGS[language(request)]
        return _wizard(request, citizen, bb, draft, status=400, errors=fields, document_errors=documents, notice=t["form_has_errors"])
    return RedirectResponse(f"/applications/{submitted.json()['fileId']}?submitted=1", status_code=303)


@router.get("/applications", response_class=HTMLResponse)
def list_applications(request: Request, citizen: Citizen, bb: CitizenBlocks):
    files = bb.call("GET", REG, "applications", params={"applicantId": citizen.subject}).json()
    drafts = bb.call("GET", REG, "drafts").json()
    return render(request, "applications.html", user=citizen, files=files, drafts=drafts)


@router.get("/applications/{file_id}", response_class=HTMLResponse)
def get_application(file_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, submitted: bool = False, resubmitted: bool = False):
    response = bb.call("GET", REG, f"applications/{_id(file_id)}")
    if response.status_code != 200:
        return _not_found(request, citizen)
    file = response.json()
    schema = _form(bb, file["applicationData"]["formData"]["eFormId"]) if file["status"]["code"] == "SENDBACK" else {}
    t = i18n.CATALOGS[language(request)]
    notice = t["submitted"] if submitted else t["resubmitted"] if resubmitted else None
    return render(request, "application.html", user=citizen, file=file, notice=notice, fields=_fields(schema, language(request)),
                  values=file["applicationData"]["formData"].get("data", {}), errors={})


@router.post("/applications/{file_id}/resubmit")
async def resubmit_application(file_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    response = bb.call("GET", REG, f"applications/{_id(file_id)}")
    if response.status_code != 200:
        return _not_found(request, citizen)
    file = response.json()
    eform_id = file["applicationData"]["formData"]["eFormId"]
    schema = _form(bb, eform_id)
    data = _values(await request.form(), schema)
    updated = bb.call("PUT", REG, f"applications/{_id(file_id)}", json={"formData": {"data": data, "eFormId": eform_id}, "language": language(request)})
    if updated.status_code != 200:
        fields, _ = _errors(updated.json().get("details", []), language(request))
        return render(request, "application.html", status=400, user=citizen, file=file, notice=None,
                      fields=_fields(schema, language(request)), values=data, errors=fields)
    return RedirectResponse(f"/applications/{file_id}?resubmitted=1", status_code=303)
