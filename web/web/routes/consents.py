"""My consents: the citizen's consent records at the Consent BB, and withdrawing one after a confirmation step."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web import consent, i18n
from web.bb import segment
from web.pages import language, render
from web.routes.deps import Citizen, CitizenBlocks

router = APIRouter(tags=["citizen"], include_in_schema=False)


def _state(record: dict) -> str:
    if record.get("optIn") is not True:
        return "withdrawn"
    return "active" if record.get("state") == "signed" else "unsigned"


@router.get("/consents", response_class=HTMLResponse)
def list_consents(request: Request, citizen: Citizen, bb: CitizenBlocks, withdrawn: bool = False):
    lang = language(request)
    agreements: dict[str, consent.Agreement | None] = {}
    items = []
    for record in reversed(consent.records(bb)):  # newest first
        agreement_id = record.get("dataAgreementId", "")
        if agreement_id not in agreements:
            agreements[agreement_id] = consent.agreement(bb, agreement_id, lang)
        agreement = agreements[agreement_id]
        # The purpose as agreed (the record's agreement revision), else as the agreement reads now.
        purpose = i18n.bilingual(record.get("dataAgreementPurpose"), lang) or (agreement.purpose if agreement else agreement_id)
        items.append({"record": record, "state": _state(record), "purpose": purpose, "controller": agreement.controller if agreement else "",
                      "date": str(record.get("createdAt") or "")[:10]})
    notice = i18n.CATALOGS[lang]["consent_withdrawn"] if withdrawn else None
    return render(request, "consents.html", user=citizen, consents=items, notice=notice)


def _not_found(request: Request, citizen) -> HTMLResponse:
    return render(request, "error.html", status=404, user=citizen, message_key="error_not_found")


@router.get("/consents/{record_id}/withdraw", response_class=HTMLResponse)
def confirm_withdrawal(record_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    record = consent.record(bb, record_id)
    if record is None:
        return _not_found(request, citizen)
    agreement = consent.agreement(bb, record.get("dataAgreementId", ""), language(request))
    return render(request, "withdraw.html", user=citizen, record=record, agreement=agreement)


@router.post("/consents/{record_id}/withdraw")
async def withdraw_consent(record_id: str, request: Request, citizen: Citizen, bb: CitizenBlocks):
    form = await request.form()
    if form.get("confirm") != "yes":  # only the confirmation page's button withdraws
        return RedirectResponse(f"/consents/{segment(record_id)}/withdraw", status_code=303)
    if consent.record(bb, record_id) is None or not consent.withdraw(bb, record_id):
        return _not_found(request, citizen)
    return RedirectResponse("/consents?withdrawn=1", status_code=303)
