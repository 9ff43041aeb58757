"""The Registration BB's public catalogue as the portal shows it: services, form fields, document slots and fees,
in the chosen language."""
from web import i18n
from web.bb import BuildingBlocks, segment

REG = "registration"


def services(bb: BuildingBlocks, lang: str) -> list[dict]:
    """Published services, each with its name, description and fees in the chosen language."""
    return [{"id": s["id"], "name": i18n.text(s.get("name"), lang), "description": i18n.text(s.get("description"), lang),
             "fees": fees(s, lang), "needs_consent": bool(s.get("consent"))}
            for s in bb.call("GET", REG, "catalogue/services").json()]


def entry(bb: BuildingBlocks, service_id: str) -> dict | None:
    response = bb.call("GET", REG, f"catalogue/services/{segment(service_id)}")
    return response.json() if response.status_code == 200 else None


def agreement_id(entry: dict | None) -> str | None:
    """The data agreement of the service's require_consent step, if it has one."""
    return ((entry or {}).get("consent") or {}).get("dataAgreementId")


def money(amount) -> str:
    """An amount as Lao forms write it: whole units, thousands apart ("200 000")."""
    try:
        return f"{float(amount):,.0f}".replace(",", " ")
    except (TypeError, ValueError):
        return str(amount or "")


def fees(entry: dict | None, lang: str) -> list[dict]:
    return [{"label": i18n.text(fee.get("label"), lang), "amount": money(fee.get("amount")), "currency": fee.get("currency", "")}
            for fee in (entry or {}).get("fees", [])]


def documents(entry: dict | None, lang: str) -> list[dict]:
    """One upload slot per document the service asks for, with what it accepts."""
    slots = []
    for document in (entry or {}).get("documents", []):
        types = [t.split("/")[-1].upper() for t in document.get("contentTypes", [])]
        slots.append({"type": document["type"], "label": i18n.text(document.get("label"), lang), "required": document.get("required", False),
                      "accept": ",".join(document.get("contentTypes", [])), "types": ", ".join(types),
                      "max_mb": f"{(document.get('maxBytes') or 0) / 1048576:g}"})
    return slots


_WIDGETS = {"email": "email", "phone": "tel"}


def fields(schema: dict, entry: dict | None, lang: str) -> list[dict]:
    """Each property of the e-form's JSON Schema as the page shows it: label and order from the catalogue (schema order
    and titles when the catalogue does not describe it), input kind from the schema's type and the layout widget."""
    described = {}
    for eform in (entry or {}).get("eForms", []):
        described.update({field["name"]: (position, field) for position, field in enumerate(eform.get("fields", []))})
    required = set(schema.get("required", []))
    properties = schema.get("properties") or {}
    shown = []
    for index, (name, rule) in enumerate(properties.items()):
        position, field = described.get(name, (len(described) + index, {}))
        label = i18n.text(field.get("label"), lang) or i18n.text(rule.get("title"), lang) or name.replace("_", " ").capitalize()
        if "enum" in rule:
            kind = "select"
        elif rule.get("type") == "boolean":
            kind = "checkbox"
        elif rule.get("type") in ("integer", "number"):
            kind = "number"
        else:
            kind = _WIDGETS.get(field.get("widget"), "text")
        shown.append((position, {"name": name, "label": label, "kind": kind, "options": rule.get("enum", []), "required": name in required,
                                 "step": "1" if rule.get("type") == "integer" else "any"}))
    return [field for _, field in sorted(shown, key=lambda item: item[0])]
