"""Citizen pages: the service catalogue, the e-form wizard over drafts (consent step, documents, fee), submission,
my applications."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData, UploadFile

from kernel.db import UowDep
from web import catalogue, consent, forms, i18n, sessions
from web.bb import BuildingBlocks, segment
from web.pages import language, render
from web.routes.deps import Citizen, CitizenBlocks

router = APIRouter(tags=["citizen"], include_in_schema=False)
REG = "registration"


def _not_found(request: Request, user) -> HTMLResponse:
    return render(request, "error.html", status=404, user=user, message_key="error_not_found")


@router.get("/services", response_class=HTMLResponse)
def list_services(request: Request, citizen: Citizen, bb: CitizenBlocks):
    return render(request, "services.html", user=citizen, services=catalogue.services(bb, language(request)))


@router.post("/services/{service_id}/apply")
def start_application(service_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    """A new draft on the service's e-form; the wizard then works on that draft."""
    eforms = bb.call("GET", REG, f"services/{segment(service_id)}/eForms")
    if eforms.status_code != 200 or not eforms.json():
        return _not_found(request, citizen)
    created = bb.call("POST", REG, f"services/{segment(service_id)}/drafts", json={"formData": {"eFormId": eforms.json()[0]["eFormId"], "data": {}},
                                                                         "language": language(request)})
    if created.status_code != 201:
        return _not_found(request, citizen)
    return RedirectResponse(f"/drafts/{created.json()['fileId']}", status_code=303)


def _form(bb: BuildingBlocks, eform_id: str) -> dict:
    response = bb.call("GET", REG, f"eForms/{segment(eform_id)}")
    return response.json().get("schema", {}) if response.status_code == 200 else {}


def _values(form, schema: dict) -> dict:
    """Form strings as the schema's types; empty fields are left out, so the API can say they are required."""
    data = {}
    for name, rule in (schema.get("properties") or {}).items():
        if rule.get("type") == "boolean":
            data[name] = form.get(name) == "true"  # an unticked box is an answer: no
            continue
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
    # A district typed as its Lao or English name (no list shown yet: no JavaScript) is stored as the schema's value.
    return {name: catalogue.chosen_value(schema, name, data, value) for name, value in data.items()}


def _typed(form, schema: dict) -> dict | None:
    """The answers in a posted form, or None when it holds none of the form's fields (e.g. the consent page's tick, or a
    client posting a file alone): then no answer is overwritten, not even an unticked box's "no"."""
    return _values(form, schema) if any(name in form for name in schema.get("properties") or {}) else None


def _errors(details: list, lang: str) -> tuple[dict, dict]:
    """The API's field problems as localised messages: e-form fields, and document types that are missing."""
    fields, documents = {}, {}
    for problem in details or []:
        field, reason = str(problem.get("field", "")), str(problem.get("reason", ""))
        for prefix in ("formData.data.", "data."):
            field = field.removeprefix(prefix)
        if field.startswith("documents."):
            documents[field.removeprefix("documents.")] = i18n.validation_message(reason, lang)
        elif isinstance(problem.get("description"), dict):  # a determinant the applicant does not meet, in both languages
            fields[field] = i18n.CATALOGS[lang]["v_not_eligible"].format(rule=i18n.text(problem["description"], lang))
        else:
            fields[field] = i18n.validation_message(reason, lang)
    return fields, documents


def _draft(bb: BuildingBlocks, draft_id: str) -> dict | None:
    response = bb.call("GET", REG, f"drafts/{segment(draft_id)}")
    return response.json() if response.status_code == 200 else None


def _no_draft(request: Request, citizen, bb: BuildingBlocks, draft_id: str):
    """A draft that is gone because it was submitted (back, refresh or a second click on submit) leads to its application."""
    if bb.call("GET", REG, f"applications/{segment(draft_id)}").status_code == 200:
        return RedirectResponse(f"/applications/{segment(draft_id)}", status_code=303)
    return _not_found(request, citizen)


def _service_page(bb: BuildingBlocks, service_id: str, eform_id: str, lang: str, entry: dict | None = None) -> dict:
    """What every wizard page shows of the service: its fields, document slots and fees."""
    entry = entry or catalogue.entry(bb, service_id)
    schema = _form(bb, eform_id)
    return {"schema": schema, "entry": entry, "fields": catalogue.fields(schema, entry, lang), "slots": catalogue.documents(entry, lang),
            "fees": catalogue.fees(entry, lang)}


def _wizard(request: Request, citizen, bb: BuildingBlocks, draft: dict, *, status: int = 200, errors=None, document_errors=None,
            values=None, notice: str | None = None, entry: dict | None = None, kept=None) -> HTMLResponse:
    lang = language(request)
    form_data = draft["applicationData"]["formData"]
    page = _service_page(bb, draft["serviceId"], form_data["eFormId"], lang, entry)
    typed = _typed(kept, page["schema"]) if kept is not None else None
    if typed is not None:  # typed before the session ended: shown over the saved answers, for the citizen to save
        values, notice = {**form_data.get("data", {}), **typed}, i18n.CATALOGS[lang]["work_restored"]
    names = {field["name"] for field in page["fields"]}
    other_errors = [message for name, message in (errors or {}).items() if name not in names]  # e.g. a field that is not ours
    slot_types = {slot["type"] for slot in page["slots"]}
    other_errors += [message for kind, message in (document_errors or {}).items() if kind not in slot_types]
    uploaded: dict[str, list[dict]] = {}  # document slot -> the files in it
    for document in draft.get("documents") or []:
        uploaded.setdefault(document.get("documentType", ""), []).append({"name": document.get("fileName") or "", "url": document["url"]})
    slots = [{**slot, "files": uploaded.get(slot["type"], [])} for slot in page["slots"]]
    return render(request, "wizard.html", status=status, user=citizen, draft=draft, fields=page["fields"], slots=slots,
                  fees=page["fees"], other_errors=other_errors, values=values if values is not None else form_data.get("data", {}),
                  errors=errors or {}, document_errors=document_errors or {}, documents=draft["applicationData"].get("documentUrls", []),
                  notice=notice, action=f"/drafts/{draft['fileId']}")


def _consent_page(request: Request, citizen, draft: dict, agreement: consent.Agreement | None, *, status: int = 200,
                  missing_tick: bool = False) -> HTMLResponse:
    return render(request, "consent.html", status=status, user=citizen, draft=draft, agreement=agreement, missing_tick=missing_tick)


def _needed_agreement(request: Request, bb: BuildingBlocks, entry: dict | None) -> tuple[bool, consent.Agreement | None]:
    """Whether the service still needs the citizen's consent, and the agreement to show if it does."""
    agreement_id = catalogue.agreement_id(entry)
    if agreement_id is None:
        return False, None
    agreement = consent.agreement(bb, agreement_id, language(request))
    if agreement is not None and consent.is_valid(consent.current_record(bb, agreement_id), agreement):
        return False, agreement
    return True, agreement


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def get_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, uow: UowDep, saved: bool = False,
              consented: bool = False, consent_missing: bool = False, missing: str = "", uploaded: bool = False, removed: bool = False):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _no_draft(request, citizen, bb, draft_id)
    entry = catalogue.entry(bb, draft["serviceId"])
    needed, agreement = _needed_agreement(request, bb, entry)
    if needed:  # the consent step comes first: the form is shown once the citizen has agreed
        return _consent_page(request, citizen, draft, agreement, status=200 if agreement else 502)
    t = i18n.CATALOGS[language(request)]
    document_errors = {kind: t["v_document_missing"] for kind in missing.split(",") if kind}
    notice = (t["draft_saved"] if saved else t["document_uploaded"] if uploaded else t["document_removed"] if removed
              else t["consent_given"] if consented else t["consent_not_accepted"] if consent_missing else None)
    kept = sessions.take_kept_form(request, uow, request.url.path)
    uow.commit()
    return _wizard(request, citizen, bb, draft, notice=notice, document_errors=document_errors, entry=entry, kept=kept)


@router.post("/drafts/{draft_id}/consent")
async def give_consent(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    """The citizen's explicit consent to the service's data agreement (a ticked box; nothing is assumed)."""
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    needed, agreement = _needed_agreement(request, bb, catalogue.entry(bb, draft["serviceId"]))
    if not needed:
        return RedirectResponse(f"/drafts/{segment(draft_id)}", status_code=303)
    if agreement is None:
        return _consent_page(request, citizen, draft, None, status=502)
    form = await request.form()
    if form.get("agree") != "yes":
        return _consent_page(request, citizen, draft, agreement, status=400, missing_tick=True)
    consent.give(bb, agreement)
    return RedirectResponse(f"/drafts/{segment(draft_id)}?consented=1", status_code=303)


@router.post("/drafts/{draft_id}")
async def save_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    form = await request.form()
    schema = _form(bb, draft["applicationData"]["formData"]["eFormId"])
    data = _values(form, schema)
    saved = bb.call("PUT", REG, f"drafts/{segment(draft_id)}", json={"formData": {"data": data}, "language": language(request)})
    if saved.status_code != 200:
        fields, _ = _errors(saved.json().get("details", []), language(request))
        return _wizard(request, citizen, bb, draft, status=400, errors=fields, values=data)
    if form.get("action") == "review":
        # Saved as typed, but reviewed only once the form's own rules (eligibility included) are met.
        entry = catalogue.entry(bb, draft["serviceId"])
        problems = {**forms.problems(schema, data, language(request)), **forms.unmet_determinants(entry, data, language(request))}
        if problems:
            t = i18n.CATALOGS[language(request)]
            return _wizard(request, citizen, bb, draft, status=400, errors=problems, values=data, notice=t["form_has_errors"], entry=entry)
        return RedirectResponse(f"/drafts/{segment(draft_id)}/review", status_code=303)
    return RedirectResponse(f"/drafts/{segment(draft_id)}?saved=1", status_code=303)


def _chosen_files(form) -> list[tuple[str, UploadFile]]:
    """(document type, file) for each file chosen in the wizard's slots (inputs named file.<type>), or the one `file`
    with its `document_type` that other clients send."""
    chosen = [(name.removeprefix("file."), part) for name, part in form.multi_items()
              if name.startswith("file.") and isinstance(part, UploadFile) and part.filename]
    single = form.get("file")
    if isinstance(single, UploadFile) and single.filename:
        chosen.append((str(form.get("document_type") or ""), single))
    return chosen


def _save_with_documents(request: Request, bb: BuildingBlocks, draft: dict, form, urls: list[str]) -> tuple[dict | None, dict]:
    """Save the answers posted with a document change together with the draft's new document list: the upload and remove
    buttons post the whole wizard form, so nothing typed is lost. (None or the API's field problems, the answers.)"""
    body = {"documentUrls": urls, "language": language(request)}
    data = _typed(form, _form(bb, draft["applicationData"]["formData"]["eFormId"]))
    if data is not None:
        body["formData"] = {"data": data}
    data = data if data is not None else draft["applicationData"]["formData"].get("data", {})
    saved = bb.call("PUT", REG, f"drafts/{segment(draft['fileId'])}", json=body)
    if saved.status_code != 200:
        return _errors(saved.json().get("details", []), language(request))[0], data
    return None, data


@router.post("/drafts/{draft_id}/documents")
async def upload_document(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    """Upload the chosen files; a file chosen for a slot that has one replaces it (one document per slot)."""
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    form = await request.form()
    t = i18n.CATALOGS[language(request)]
    slot_of = {document["url"]: document.get("documentType", "") for document in draft.get("documents") or []}
    urls, document_errors = list(draft["applicationData"].get("documentUrls", [])), {}
    chosen = _chosen_files(form)
    if not chosen:  # the slot's button pressed without a file: say so at that slot (the answers are still saved)
        document_errors[str(form.get("document_type") or "file")] = t["v_upload_choose"]
    for document_type, file in chosen:
        params = {"serviceId": draft["serviceId"], "documentType": document_type} if document_type else {}
        uploaded = bb.call("POST", REG, "documents", params=params, files={"file": (file.filename, await file.read(), file.content_type)})
        if uploaded.status_code != 200:
            message = {413: t["v_upload_size"], 415: t["v_upload_type"]}.get(uploaded.status_code, t["v_invalid"])
            document_errors[document_type or "file"] = message
            continue
        if document_type:
            urls = [url for url in urls if slot_of.get(url) != document_type]
        urls.append(uploaded.json()["url"])
    errors, data = _save_with_documents(request, bb, draft, form, urls)
    if errors or document_errors:
        return _wizard(request, citizen, bb, _draft(bb, draft_id) or draft, status=400, errors=errors, document_errors=document_errors,
                       values=data)
    return RedirectResponse(f"/drafts/{segment(draft_id)}?uploaded=1", status_code=303)


@router.post("/drafts/{draft_id}/documents/remove")
async def remove_document(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    """Take an uploaded document off the draft (the officer will not see it); the answers posted with it are saved."""
    draft = _draft(bb, draft_id)
    if draft is None:
        return _not_found(request, citizen)
    form = await request.form()
    urls = draft["applicationData"].get("documentUrls", [])
    if form.get("remove") not in urls:
        return _not_found(request, citizen)
    errors, data = _save_with_documents(request, bb, draft, form, [url for url in urls if url != form.get("remove")])
    if errors:
        return _wizard(request, citizen, bb, draft, status=400, errors=errors, values=data)
    return RedirectResponse(f"/drafts/{segment(draft_id)}?removed=1", status_code=303)


def _review(request: Request, citizen, bb: BuildingBlocks, draft: dict, *, status: int = 200, confirm_error: bool = False) -> HTMLResponse:
    form_data = draft["applicationData"]["formData"]
    page = _service_page(bb, draft["serviceId"], form_data["eFormId"], language(request))
    return render(request, "review.html", status=status, user=citizen, draft=draft, fields=page["fields"], fees=page["fees"],
                  values=form_data.get("data", {}), confirm_error=confirm_error)


@router.get("/drafts/{draft_id}/review", response_class=HTMLResponse)
def review_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _no_draft(request, citizen, bb, draft_id)
    return _review(request, citizen, bb, draft)


@router.post("/drafts/{draft_id}/submit")
async def submit_draft(draft_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    draft = _draft(bb, draft_id)
    if draft is None:
        return _no_draft(request, citizen, bb, draft_id)
    form = await request.form()
    if form.get("confirm") != "yes":
        return _review(request, citizen, bb, draft, status=400, confirm_error=True)
    submitted = bb.call("POST", REG, f"drafts/{segment(draft_id)}/submit", json={"confirm": True}, expected=(400, 403, 404, 409))
    if submitted.status_code == 403:  # the service's consent step is not met (e.g. withdrawn meanwhile): back to it
        return RedirectResponse(f"/drafts/{segment(draft_id)}?consent_missing=1", status_code=303)
    if submitted.status_code != 200:
        fields, documents = _errors(submitted.json().get("details", []), language(request))
        t = i18n.CATALOGS[language(request)]
        return _wizard(request, citizen, bb, draft, status=400, errors=fields, document_errors=documents, notice=t["form_has_errors"])
    return RedirectResponse(f"/applications/{segment(submitted.json()['fileId'])}?submitted=1", status_code=303)


@router.get("/applications", response_class=HTMLResponse)
def list_applications(request: Request, citizen: Citizen, bb: CitizenBlocks):
    files = bb.call("GET", REG, "applications", params={"applicantId": citizen.subject}).json()
    drafts = bb.call("GET", REG, "drafts").json()
    return render(request, "applications.html", user=citizen, files=files, drafts=drafts)


def _application_page(request: Request, citizen, bb: BuildingBlocks, file: dict, *, status: int = 200, notice=None, values=None,
                      errors=None, message_error: bool = False, form=None, restored: bool = False) -> HTMLResponse:
    """`form`: what the citizen typed (the corrections and the message), shown again; `restored`: kept across a sign-in."""
    form_data = file["applicationData"]["formData"]
    # The answers as submitted; a file sent back shows them as the form to correct instead.
    page = _service_page(bb, file["serviceId"], form_data["eFormId"], language(request))
    fields = page["fields"]
    typed = _typed(form, page["schema"]) if form is not None and file["status"]["code"] == "SENDBACK" else None
    if typed is not None:
        values = {**form_data.get("data", {}), **typed}
    message = form.get("text") if form is not None and isinstance(form.get("text"), str) else ""
    if restored and (typed is not None or message):
        notice = i18n.CATALOGS[language(request)]["work_restored"]
    if errors is None:  # the fields the operator marked, with their reason as the operator wrote it
        t = i18n.CATALOGS[language(request)]
        errors = {item["field"]: item.get("reason") or t["v_check_field"] for item in file.get("fieldsToFix") or [] if item.get("field")}
    fees = [{"amount": catalogue.money(total.get("amount")), "currency": total.get("currency", "")}
            for total in (file.get("fees") or {}).get("totals", [])]
    messages = bb.call("GET", REG, f"applications/{segment(file['fileId'])}/messages")
    return render(request, "application.html", status=status, user=citizen, file=file, notice=notice, fields=fields, fees=fees,
                  values=values if values is not None else form_data.get("data", {}), errors=errors,
                  messages=messages.json() if messages.status_code == 200 else [], message_error=message_error, message=message)


@router.get("/applications/{file_id}", response_class=HTMLResponse)
def get_application(file_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, uow: UowDep, submitted: bool = False,
                    resubmitted: bool = False, sent: bool = False):
    response = bb.call("GET", REG, f"applications/{segment(file_id)}")
    if response.status_code != 200:
        return _not_found(request, citizen)
    t = i18n.CATALOGS[language(request)]
    notice = t["submitted"] if submitted else t["resubmitted"] if resubmitted else t["message_sent"] if sent else None
    kept = sessions.take_kept_form(request, uow, request.url.path)
    uow.commit()
    # After a message is sent, the corrections typed with it come back under the "message sent" notice.
    return _application_page(request, citizen, bb, response.json(), notice=notice, form=kept, restored=not sent)


@router.post("/applications/{file_id}/resubmit")
async def resubmit_application(file_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    response = bb.call("GET", REG, f"applications/{segment(file_id)}")
    if response.status_code != 200:
        return _not_found(request, citizen)
    file = response.json()
    eform_id = file["applicationData"]["formData"]["eFormId"]
    form = await request.form()
    data = _values(form, _form(bb, eform_id))
    updated = bb.call("PUT", REG, f"applications/{segment(file_id)}", json={"formData": {"data": data, "eFormId": eform_id}, "language": language(request)})
    if updated.status_code != 200:
        fields, _ = _errors(updated.json().get("details", []), language(request))
        return _application_page(request, citizen, bb, file, status=400, errors=fields, form=form)
    text = form.get("text")
    if isinstance(text, str) and text.strip():  # a message typed with the corrections goes with them
        bb.call("POST", REG, f"applications/{segment(file_id)}/messages", json={"text": text})
    return RedirectResponse(f"/applications/{segment(file_id)}?resubmitted=1", status_code=303)


@router.post("/applications/{file_id}/messages")
async def send_message(file_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks, uow: UowDep):
    """A message to the officers handling the application."""
    response = bb.call("GET", REG, f"applications/{segment(file_id)}")
    if response.status_code != 200:
        return _not_found(request, citizen)
    form = await request.form()
    text = form.get("text")
    sent = bb.call("POST", REG, f"applications/{segment(file_id)}/messages", json={"text": text if isinstance(text, str) else ""})
    if sent.status_code != 201:
        return _application_page(request, citizen, bb, response.json(), status=400, message_error=True, form=form)
    redirect = RedirectResponse(f"/applications/{segment(file_id)}?sent=1", status_code=303)
    if response.json()["status"]["code"] == "SENDBACK":
        # The corrections typed below the message cannot be saved without resubmitting: kept for the page to show again.
        corrections = [(name, value) for name, value in form.multi_items() if name != "text"]
        if sessions.keep_form(uow, request.app.state.settings, redirect, page=request.url.path.removesuffix("/messages"), form=FormData(corrections)):
            uow.commit()
    return redirect
