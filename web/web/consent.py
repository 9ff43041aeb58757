"""The Consent BB as the portal uses it for the signed-in citizen: read an agreement, give, list and withdraw consent.

Every call goes through the gateway with the citizen's own token; the Consent BB binds the individual to the token's
subject, so a citizen can only act for themselves. Consent is signed by the Consent BB as the citizen's delegate
(verification method jws-service), which it allows only for the citizen's own token.
"""
from dataclasses import dataclass

from web import i18n
from web.bb import BuildingBlocks, Unavailable, segment

CONSENT = "consent"


@dataclass
class Agreement:
    """What a citizen is asked to agree to, in the chosen language."""

    id: str
    revision_id: str | None
    purpose: str
    controller: str
    controller_url: str | None
    attributes: list[str]
    retention_days: int | None
    policy_url: str | None
    forgettable: bool


def agreement(bb: BuildingBlocks, agreement_id: str, lang: str) -> Agreement | None:
    """A published data agreement (readable by anyone), or None if there is none with this id."""
    response = bb.call("GET", CONSENT, f"service/data-agreement/{segment(agreement_id)}/", expected=(400, 401, 403, 404))
    if response.status_code != 200:
        return None
    body = response.json()
    data, revision = body.get("dataAgreement") or {}, body.get("revision") or {}
    controller, policy = data.get("controller") or {}, data.get("policy") or {}
    return Agreement(
        id=data.get("id", agreement_id), revision_id=revision.get("id"), purpose=i18n.bilingual(data.get("purpose"), lang),
        controller=i18n.bilingual(controller.get("name"), lang), controller_url=controller.get("url"),
        attributes=[i18n.bilingual(a.get("description") or a.get("name"), lang) for a in data.get("dataAttributes") or []],
        retention_days=policy.get("dataRetentionPeriodDays"), policy_url=policy.get("url"), forgettable=bool(data.get("forgettable")))


def _individual_id(bb: BuildingBlocks) -> str:
    """The citizen's individual at the Consent BB (found, or created bound to the token's subject)."""
    response = bb.call("POST", CONSENT, "service/individual/", json={"individual": {}})
    if response.status_code != 200:
        raise Unavailable(response.status_code, response.text[:500])
    return response.json()["individual"]["id"]


def current_record(bb: BuildingBlocks, agreement_id: str) -> dict | None:
    """The citizen's record for the agreement (at its current revision if there is one), or None."""
    # 400 means no individual or no record yet: the Consent BB answers unknown ids with 400, as its spec says.
    response = bb.call("GET", CONSENT, f"service/individual/record/data-agreement/{segment(agreement_id)}/")
    return response.json().get("consentRecord") if response.status_code == 200 else None


def is_valid(record: dict | None, agreement: Agreement) -> bool:
    """Opted in, signed, and for the agreement as it reads now (a revised agreement needs consent again)."""
    return bool(record and record.get("optIn") is True and record.get("state") == "signed"
                and (agreement.revision_id is None or record.get("dataAgreementRevisionId") == agreement.revision_id))


def give(bb: BuildingBlocks, agreement: Agreement) -> None:
    """Record the citizen's explicit consent: a signed, opted-in record at the agreement's current revision."""
    record = current_record(bb, agreement.id)
    if record is not None and record.get("dataAgreementRevisionId") == agreement.revision_id:
        _consent_again(bb, record)
        return
    individual_id = _individual_id(bb)
    draft = bb.call("POST", CONSENT, "service/individual/record/consent-record/draft/",
                    params={"individualId": individual_id, "dataAgreementId": agreement.id})
    if draft.status_code != 200:
        raise Unavailable(draft.status_code, draft.text[:500])
    unsigned = draft.json()
    record_in = {key: unsigned["consentRecord"][key] for key in
                 ("dataAgreementId", "dataAgreementRevisionId", "dataAgreementRevisionHash", "individualId")}
    signature_in = {key: value for key, value in unsigned["signature"].items() if key not in ("id", "signature")}
    # No signature value: the Consent BB signs as the citizen's delegate, for the citizen's own token only.
    stored = bb.call("POST", CONSENT, "service/individual/record/consent-record/",
                     json={"consentRecord": {**record_in, "optIn": True}, "signature": signature_in})
    if stored.status_code != 200:
        raise Unavailable(stored.status_code, stored.text[:500])


def _consent_again(bb: BuildingBlocks, record: dict) -> None:
    """A record at this revision exists (e.g. withdrawn earlier): opt in again and sign it anew."""
    if record.get("optIn") is True and record.get("state") == "signed":
        return
    path = f"service/individual/record/consent-record/{segment(record['id'])}/"
    steps = []
    if record.get("optIn") is not True:
        steps.append(("PUT", path, {"consentRecord": {"optIn": True}}))
    steps.append(("POST", path + "signature/", {"signature": {}}))
    for method, step_path, body in steps:
        response = bb.call(method, CONSENT, step_path, json=body)
        if response.status_code != 200:
            raise Unavailable(response.status_code, response.text[:500])
    prepared = response.json()["signature"]["id"]
    signed = bb.call("PUT", CONSENT, path + "signature/", json={"signature": {"id": prepared}})
    if signed.status_code != 200:
        raise Unavailable(signed.status_code, signed.text[:500])


def records(bb: BuildingBlocks) -> list[dict]:
    """All the citizen's consent records, oldest first; none when the citizen never used the Consent BB."""
    response = bb.call("GET", CONSENT, "service/individual/record/consent-record/", params={"limit": 1000})
    return response.json().get("consentRecords", []) if response.status_code == 200 else []


def record(bb: BuildingBlocks, record_id: str) -> dict | None:
    """One of the citizen's own records (another citizen's record is not found)."""
    return next((r for r in records(bb) if r.get("id") == record_id), None)


def withdraw(bb: BuildingBlocks, record_id: str) -> bool:
    """Opt out; False when the record is not the citizen's or does not exist."""
    response = bb.call("PUT", CONSENT, f"service/individual/record/consent-record/{segment(record_id)}/",
                       json={"consentRecord": {"optIn": False}}, expected=(400, 403, 404))
    return response.status_code == 200
