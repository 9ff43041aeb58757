"""The e-service design document and its validation: pure functions that name each invalid field and why."""
import re
from dataclasses import dataclass

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from registration.rules import check_condition, unusable_schema

CLASSIFICATIONS = ("public", "internal", "personal", "sensitive_personal")
# What a form field or document slot without a classification counts as: the most restrictive one. A design that
# leaves a document slot unclassified (designs from before slots had one) keeps validating and publishing, and its
# uploads go to the roles that may see sensitive personal data only. Not "the most restrictive classification the
# design uses": an ID card scan would then reach every role that sees "personal" in a design that happens to classify
# nothing as sensitive, and a slot's audience would change whenever an unrelated field's classification did.
UNCLASSIFIED = "sensitive_personal"
DECISIONS = ("approve", "reject", "send_back")
STEP_TYPES = ("require_signed_in_citizen", "require_consent", "notify_applicant", "write_registry")
SERVICE_TYPES = ("None", "Private", "Public")
END, APPLICANT = "end", "applicant"
# Where each decision may send the file: another role, or its own terminal place.
DECISION_TARGETS = {"approve": (END,), "reject": (END,), "send_back": (APPLICANT,)}
LANGUAGES = ("en", "lo")
CONTACT_KINDS = ("email", "phone")

_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,19}$")
_ID = re.compile(r"^[A-Za-z0-9_.:#-]{1,64}$")


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str

    def as_dict(self) -> dict:
        return {"field": self.field, "reason": self.reason}


def validate_service(document) -> list[Problem]:
    """Every problem in a design document; an empty list means it can be published."""
    if not isinstance(document, dict):
        return [Problem("", "the service document must be an object")]
    problems: list[Problem] = []
    add = lambda field, reason: problems.append(Problem(field, reason))  # noqa: E731

    if "id" in document and not (isinstance(document["id"], str) and _ID.match(document["id"])):
        add("id", "must be 1-64 letters, digits or . _ : # -")
    code = document.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        add("code", "required: 2-20 capital letters or digits, starting with a letter (used in registration numbers)")
    _check_text(document.get("name"), "name", add, required=True)
    _check_text(document.get("description"), "description", add, required=False)
    if document.get("type", "Public") not in SERVICE_TYPES:
        add("type", f"must be one of {', '.join(SERVICE_TYPES)}")
    days = document.get("processing_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650):
        add("processing_days", "must be a whole number of days from 1 to 3650 (when a decision is due after submission)")

    _check_registrations(document.get("registrations"), _numeric_fields(document.get("eforms")), add)
    _check_eforms(document.get("eforms"), add)
    _check_documents(document.get("documents", []), add)
    _check_roles(document.get("roles"), add)
    _check_steps(document.get("steps", []), add)
    _check_contact(document.get("contact"), document.get("eforms"), add)
    return problems


def _check_text(value, field, add, *, required: bool) -> None:
    """Lao and English are both first-class: a translatable text needs both."""
    if value is None and not required:
        return
    if not isinstance(value, dict):
        add(field, "must be an object with 'en' and 'lo' texts")
        return
    for language in LANGUAGES:
        if not isinstance(value.get(language), str) or not value[language].strip():
            add(f"{field}.{language}", "required: a non-empty text")


def _list(value, field, add, *, required: bool) -> list:
    if value is None:
        if required:
            add(field, "required: a non-empty list")
        return []
    if not isinstance(value, list) or (required and not value):
        add(field, "must be a non-empty list" if required else "must be a list")
        return []
    return value


def _unique_ids(items, field, key, add) -> list[str]:
    seen = []
    for index, item in enumerate(items):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not _ID.match(value):
            add(f"{field}[{index}].{key}", "required: 1-64 letters, digits or . _ : # -")
        elif value in seen:
            add(f"{field}[{index}].{key}", f"duplicate {key} '{value}'")
        else:
            seen.append(value)
    return seen


def _numeric_fields(eforms) -> set[str]:
    """Form fields typed number or integer: what a fee may be computed per unit of."""
    found = set()
    for eform in eforms if isinstance(eforms, list) else []:
        schema = eform.get("schema") if isinstance(eform, dict) else None
        properties = schema.get("properties") if isinstance(schema, dict) else None
        for name, spec in (properties if isinstance(properties, dict) else {}).items():
            if isinstance(spec, dict) and spec.get("type") in ("integer", "number"):
                found.add(name)
    return found


def _check_registrations(value, numeric_fields: set[str], add) -> None:
    registrations = _list(value, "registrations", add, required=True)
    _unique_ids(registrations, "registrations", "code", add)
    for index, registration in enumerate(registrations):
        if not isinstance(registration, dict):
            add(f"registrations[{index}]", "must be an object")
            continue
        at = f"registrations[{index}]"
        _check_text(registration.get("name"), f"{at}.name", add, required=True)
        for d, determinant in enumerate(_list(registration.get("determinants"), f"{at}.determinants", add, required=False)):
            if not isinstance(determinant, dict):
                add(f"{at}.determinants[{d}]", "must be an object")
                continue
            _check_text(determinant.get("description"), f"{at}.determinants[{d}].description", add, required=True)
            if determinant.get("obligation") not in ("mandatory", "optional"):
                add(f"{at}.determinants[{d}].obligation", "must be 'mandatory' or 'optional'")
            check_condition(determinant.get("condition"), f"{at}.determinants[{d}].condition", add)
        for f, fee in enumerate(_list(registration.get("fees"), f"{at}.fees", add, required=False)):
            if not isinstance(fee, dict):
                add(f"{at}.fees[{f}]", "must be an object")
                continue
            _check_text(fee.get("label"), f"{at}.fees[{f}].label", add, required=True)
            amount = fee.get("amount")
            if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
                add(f"{at}.fees[{f}].amount", "required: a number not below 0")
            if not (isinstance(fee.get("currency"), str) and re.fullmatch(r"[A-Z]{3}", fee["currency"])):
                add(f"{at}.fees[{f}].currency", "required: an ISO 4217 code such as LAK")
            check_condition(fee.get("condition"), f"{at}.fees[{f}].condition", add)
            if "per_field" in fee and fee["per_field"] not in numeric_fields:
                add(f"{at}.fees[{f}].per_field", "must name a number or integer field of one of the service's e-forms")


def _check_eforms(value, add) -> None:
    eforms = _list(value, "eforms", add, required=True)
    _unique_ids(eforms, "eforms", "id", add)
    for index, eform in enumerate(eforms):
        at = f"eforms[{index}]"
        if not isinstance(eform, dict):
            add(at, "must be an object")
            continue
        if not isinstance(eform.get("name"), str) or not eform["name"].strip():
            add(f"{at}.name", "required: a non-empty text")
        schema = eform.get("schema")
        if not isinstance(schema, dict):
            add(f"{at}.schema", "required: a JSON Schema object")
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            path = ".".join(str(p) for p in exc.absolute_path)
            add(f"{at}.schema{'.' + path if path else ''}", f"not a valid JSON Schema: {exc.message}")
            continue
        unusable = unusable_schema(schema)
        if unusable:
            add(f"{at}.schema", unusable)
        if schema.get("type") != "object":
            add(f"{at}.schema.type", "must be 'object': a form is an object of fields")
        properties = schema.get("properties") or {}
        sections = _check_sections(eform.get("sections"), f"{at}.sections", add)
        fields = eform.get("fields") or {}
        if not isinstance(fields, dict):
            add(f"{at}.fields", "must be an object keyed by field name")
            continue
        for name in properties:
            if name not in fields:
                add(f"{at}.fields.{name}", "missing: every schema property needs labels and a classification")
        for name, field in fields.items():
            where = f"{at}.fields.{name}"
            if name not in properties:
                add(where, "not a property of the form's schema")
            if not isinstance(field, dict):
                add(where, "must be an object")
                continue
            _check_text(field.get("label"), f"{where}.label", add, required=True)
            if field.get("classification") not in CLASSIFICATIONS:
                add(f"{where}.classification", f"required: one of {', '.join(CLASSIFICATIONS)}")
            layout = field.get("layout", {})
            if not isinstance(layout, dict):
                add(f"{where}.layout", "must be an object (section, order, widget)")
            elif "order" in layout and (isinstance(layout["order"], bool) or not isinstance(layout["order"], int)):
                add(f"{where}.layout.order", "must be an integer")
            if isinstance(layout, dict) and sections is not None and layout.get("section") not in sections:
                add(f"{where}.layout.section", f"must name one of the form's sections ({', '.join(sections) or 'none declared'})")
            if "options" in field:
                _check_options(field["options"], properties.get(name), f"{where}.options", add)


def _check_sections(value, at: str, add) -> list[str] | None:
    """The wizard's sections in order, each with a Lao and English title; None when the form declares none."""
    if value is None:
        return None
    sections = _list(value, at, add, required=True)
    ids = _unique_ids(sections, at, "id", add)
    for index, section in enumerate(sections):
        if isinstance(section, dict):
            _check_text(section.get("title"), f"{at}[{index}].title", add, required=True)
    return ids


def _check_options(options, spec, at: str, add) -> None:
    """Labels of an enum field's codes, {code: {en, lo}}: the schema's enum stays the rule, this only names each code."""
    enum = spec.get("enum") if isinstance(spec, dict) else None
    if not isinstance(enum, list):
        add(at, "only a field whose schema has an enum can label its options")
        return
    if not isinstance(options, dict):
        add(at, "must be an object from each enum value to its 'en' and 'lo' labels")
        return
    codes = [str(value) for value in enum]  # JSON object keys are strings
    for code in options:
        if code not in codes:
            add(f"{at}.{code}", "not a value of the field's enum")
    for code in codes:
        if code not in options:
            add(f"{at}.{code}", "missing: every enum value needs a label once any has one")
        else:
            _check_text(options[code], f"{at}.{code}", add, required=True)


def _check_documents(value, add) -> None:
    documents = _list(value, "documents", add, required=False)
    _unique_ids(documents, "documents", "type", add)
    for index, document in enumerate(documents):
        at = f"documents[{index}]"
        if not isinstance(document, dict):
            add(at, "must be an object")
            continue
        _check_text(document.get("label"), f"{at}.label", add, required=True)
        types = document.get("content_types")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) and "/" in t for t in types):
            add(f"{at}.content_types", "required: a non-empty list of media types such as application/pdf")
        limit = document.get("max_bytes")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            add(f"{at}.max_bytes", "required: a positive number of bytes")
        if not isinstance(document.get("required", False), bool):
            add(f"{at}.required", "must be true or false")
        if "classification" in document and document["classification"] not in CLASSIFICATIONS:
            add(f"{at}.classification", f"must be one of {', '.join(CLASSIFICATIONS)} (leave it out for {UNCLASSIFIED})")
        check_condition(document.get("condition"), f"{at}.condition", add)


def _check_roles(value, add) -> None:
    roles = _list(value, "roles", add, required=True)
    role_ids = _unique_ids(roles, "roles", "id", add)
    for index, role in enumerate(roles):
        at = f"roles[{index}]"
        if not isinstance(role, dict):
            add(at, "must be an object")
            continue
        _check_text(role.get("name"), f"{at}.name", add, required=True)
        operators = role.get("operator_roles")
        if not isinstance(operators, list) or not operators or not all(isinstance(r, str) and r for r in operators):
            add(f"{at}.operator_roles", "required: the token roles of the operators who work in this role")
        sees = role.get("sees")
        if not isinstance(sees, list) or not all(s in CLASSIFICATIONS for s in sees):
            add(f"{at}.sees", f"required: a list of the classifications this role may see ({', '.join(CLASSIFICATIONS)})")
        decisions = role.get("decisions")
        if not isinstance(decisions, dict) or not decisions:
            add(f"{at}.decisions", "required: an object from decision (approve, reject, send_back) to where it routes")
            continue
        for decision, target in decisions.items():
            if decision not in DECISIONS:
                add(f"{at}.decisions.{decision}", f"unknown decision; allowed: {', '.join(DECISIONS)}")
            elif target == role.get("id"):
                add(f"{at}.decisions.{decision}", "a decision cannot route a file back to the role that made it")
            elif target not in role_ids and target not in DECISION_TARGETS[decision]:
                allowed = " or ".join(f"'{t}'" for t in DECISION_TARGETS[decision])
                add(f"{at}.decisions.{decision}", f"routes to '{target}', which is neither a role of this service nor {allowed}")


def _check_steps(value, add) -> None:
    steps = _list(value, "steps", add, required=False)
    seen = set()
    for index, step in enumerate(steps):
        at = f"steps[{index}]"
        if not isinstance(step, dict) or step.get("type") not in STEP_TYPES:
            add(f"{at}.type", f"required: one of {', '.join(STEP_TYPES)}")
            continue
        if step["type"] in seen:
            add(f"{at}.type", f"'{step['type']}' appears twice")
        seen.add(step["type"])
        if step["type"] == "require_consent" and not (isinstance(step.get("agreement_id"), str) and step["agreement_id"]):
            add(f"{at}.agreement_id", "required: the Consent BB data agreement the applicant must agree to")


def _check_contact(value, eforms, add) -> None:
    """Which form fields hold the applicant's email and phone, for notifications (optional)."""
    if value is None:
        return
    if not isinstance(value, dict):
        add("contact", f"must be an object from {' or '.join(CONTACT_KINDS)} to a form field")
        return
    fields = set()
    for eform in eforms if isinstance(eforms, list) else []:
        properties = eform.get("schema", {}).get("properties") if isinstance(eform, dict) and isinstance(eform.get("schema"), dict) else None
        fields.update(properties if isinstance(properties, dict) else {})
    for kind, field in value.items():
        if kind not in CONTACT_KINDS:
            add(f"contact.{kind}", f"unknown contact; allowed: {', '.join(CONTACT_KINDS)}")
        elif not isinstance(field, str) or field not in fields:
            add(f"contact.{kind}", "must name a field of one of the service's e-forms")


# --- reading a valid document ---------------------------------------------------------------------------------

def text(value, language: str = "en") -> str:
    if isinstance(value, dict):
        return value.get(language) or value.get("en") or next(iter(value.values()), "")
    return value or ""


def role(document: dict, role_id: str) -> dict | None:
    return next((r for r in document.get("roles", []) if r.get("id") == role_id), None)


def first_role(document: dict) -> dict:
    return document["roles"][0]


def eform(document: dict, eform_id: str | None) -> dict | None:
    forms = document.get("eforms", [])
    if not eform_id:
        return forms[0] if forms else None
    return next((f for f in forms if f.get("id") == eform_id), None)


def has_step(document: dict, step_type: str) -> dict | None:
    return next((s for s in document.get("steps", []) if s.get("type") == step_type), None)


def document_type(document: dict, type_: str) -> dict | None:
    return next((d for d in document.get("documents", []) if d.get("type") == type_), None)


def document_classification(document: dict, type_: str) -> str:
    """The classification of an upload of this document type: its slot's, or UNCLASSIFIED for an unclassified slot and
    for an upload that fills no slot of the design (untyped, or of a type the design does not declare)."""
    slot = document_type(document, type_) if type_ else None
    value = slot.get("classification") if isinstance(slot, dict) else None
    return value if value in CLASSIFICATIONS else UNCLASSIFIED


def unclassified(document: dict) -> dict[str, list[str]]:
    """What counts as UNCLASSIFIED for want of a classification, for the designer to see: e-form fields as
    `<e-form id>.<field>` and document slots by type. A broken design yields what can be read of it."""
    fields = []
    for eform in _dicts(document.get("eforms")):
        schema = eform.get("schema") if isinstance(eform.get("schema"), dict) else {}
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        described = eform.get("fields") if isinstance(eform.get("fields"), dict) else {}
        for name in dict.fromkeys([*properties, *described]):  # the schema's order, then fields it does not declare
            field = described.get(name)
            if not (isinstance(field, dict) and field.get("classification") in CLASSIFICATIONS):
                fields.append(f"{eform.get('id')}.{name}")
    slots = [str(slot.get("type")) for slot in _dicts(document.get("documents")) if slot.get("classification") not in CLASSIFICATIONS]
    return {"fields": fields, "documents": slots}


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def registration_names(document: dict) -> set[str]:
    names = set()
    for registration in document.get("registrations", []):
        names.add(registration.get("code", ""))
        names.update(v for v in (registration.get("name") or {}).values() if isinstance(v, str))
    return names


def contact(document: dict, form_data: dict) -> dict[str, str]:
    """The applicant's contacts from the fields the designer marked (kind -> value); empty or missing values are left out."""
    found = {}
    for kind, field in (document.get("contact") or {}).items():
        value = form_data.get(field) if isinstance(form_data, dict) else None
        if kind in CONTACT_KINDS and isinstance(value, str) and value.strip():
            found[kind] = value.strip()
    return found
