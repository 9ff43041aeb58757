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
                      "max_mb": f"{round((document.get('maxBytes') or 0) / 1048576, 1):g}"})  # 5 000 000 bytes: "4.8", not "4.76837"
    return slots


_WIDGETS = {"email": "email", "phone": "tel", "date": "date"}


def _options(rule: dict, field: dict, lang: str) -> list[dict]:
    """An enum field's choices: the schema's values (the rule), each with the catalogue's label (the value when it has none)."""
    labels = {str(option.get("value")): option.get("label") for option in field.get("options") or [] if isinstance(option, dict)}
    return [{"value": value, "label": i18n.text(labels.get(str(value)), lang) or str(value)} for value in rule.get("enum") or []]


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def dependent_choices(schema: dict, name: str) -> tuple[str, dict[str, list[tuple]]] | None:
    """A field whose allowed values depend on another field's answer, read from the schema's rules
    `allOf: [{if: {properties: {<other>: {const: V}}}, then: {properties: {<name>: {enum: [...], x-options: {value: {en, lo}}}}}}]`
    (x-options labels the values, as a field's `options` label a plain enum): (the other field, {V: [(value, labels)]})."""
    on, choices = None, {}
    for rule in schema.get("allOf") or []:
        condition = _object(_object(_object(rule).get("if")).get("properties"))
        then = _object(_object(_object(_object(rule).get("then")).get("properties")).get(name))
        if len(condition) != 1 or not isinstance(then.get("enum"), list):
            continue
        other, test = next(iter(condition.items()))
        if "const" not in _object(test) or on not in (None, other):
            continue
        on, labels = other, _object(then.get("x-options"))
        choices[str(test["const"])] = [(value, labels.get(str(value))) for value in then["enum"] if isinstance(value, (str, int, float))]
    return (on, choices) if on else None


def chosen_value(schema: dict, name: str, data: dict, typed):
    """A typed answer to a dependent field as the schema's value: "ຈັນທະບູລີ" or "chanthabouly" is "Chanthabouly"."""
    dependent = dependent_choices(schema, name)
    if dependent is None or not isinstance(typed, str):
        return typed
    on, choices = dependent
    for value, labels in choices.get(str(data.get(on)), []):
        texts = {str(value), *(text for text in _object(labels).values() if isinstance(text, str))}
        if typed.casefold() in {text.casefold() for text in texts}:
            return value
    return typed


def _section_titles(entry: dict | None, lang: str) -> dict[str, str]:
    """The e-forms' declared sections in order: id -> title in the chosen language."""
    return {section["id"]: i18n.text(section.get("title"), lang) or section["id"]
            for eform in (entry or {}).get("eForms", []) for section in eform.get("sections") or []
            if isinstance(section, dict) and isinstance(section.get("id"), str)}


def fields(schema: dict, entry: dict | None, lang: str) -> list[dict]:
    """Each property of the e-form's JSON Schema as the page shows it: label, order and section from the catalogue (schema
    order and titles when the catalogue does not describe it), input kind from the schema's type and the layout widget.
    Fields come section by section in the order the form declares its sections; undeclared ones last."""
    described = {}
    for eform in (entry or {}).get("eForms", []):
        described.update({field["name"]: (position, field) for position, field in enumerate(eform.get("fields", []))})
    titles = _section_titles(entry, lang)
    ranks = {section: rank for rank, section in enumerate(titles)}
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
        elif rule.get("format") == "date" and field.get("widget") is None:
            kind = "date"  # the browser's date picker sends YYYY-MM-DD, the form the schema checks
        else:
            kind = _WIDGETS.get(field.get("widget"), "text")
        options = _options(rule, field, lang)
        labels = {o["value"]: o["label"] for o in options}
        depends_on, choices = None, {}
        dependent = None if "enum" in rule else dependent_choices(schema, name)
        if dependent:  # e.g. the districts of the chosen province: a list once the province has one, else typed
            kind, (depends_on, raw) = "dependent", dependent
            choices = {key: [{"value": value, "label": i18n.text(names, lang) or str(value)} for value, names in values]
                       for key, values in raw.items()}
            labels.update({o["value"]: o["label"] for values in choices.values() for o in values})
        section = field.get("section") if field.get("section") in titles else None
        shown.append(((ranks.get(section, len(ranks)), position), {
            "name": name, "label": label, "kind": kind, "options": options, "labels": labels, "depends_on": depends_on,
            "choices": choices, "required": name in required, "step": "1" if rule.get("type") == "integer" else "any",
            "section": section, "section_title": titles.get(section, "")}))
    return [field for _, field in sorted(shown, key=lambda item: item[0])]


def sections(fields: list[dict]) -> list[dict]:
    """Fields (as fields() orders them) grouped by section: [{id, title, fields}]; one untitled group when none is declared."""
    groups: list[dict] = []
    for field in fields:
        if not groups or groups[-1]["id"] != field.get("section"):
            groups.append({"id": field.get("section"), "title": field.get("section_title", ""), "fields": []})
        groups[-1]["fields"].append(field)
    return groups


def shown_value(field: dict, value):
    """An answer as the page shows it: an enum value by its label."""
    labels = field.get("labels") or {}
    return labels.get(value, value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value
