"""The e-form's JSON Schema checked by the portal before the review page, with messages in the citizen's language.

The Registration BB checks again at submission and stays the authority; this only lets the citizen fix the form
before they confirm, including the eligibility rules a schema's if/then carries.
"""
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from kernel.jsonschemas import validator as schema_validator

from web import i18n

_FORMAT_MESSAGES = {"email": "v_email", "idn-email": "v_email", "date": "v_date"}  # other formats: v_pattern

# JSON Schema keywords whose failure the catalogue explains; {n} is the keyword's value.
_MESSAGES = {"required": "v_required", "enum": "v_enum", "const": "v_invalid", "pattern": "v_pattern", "type": "v_type",
             "minimum": "v_minimum", "maximum": "v_maximum", "minLength": "v_minLength", "maxLength": "v_maxLength"}


def problems(schema: dict, data: dict, lang: str) -> dict[str, str]:
    """Field name -> the first problem with it, in the chosen language; empty when the form is complete and valid."""
    try:
        validator = schema_validator(schema)  # `format` checked as the Registration BB checks it at submission
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    except (SchemaError, Unresolvable):
        return {}  # a schema we cannot read is the Registration BB's to judge at submission
    catalogue = i18n.CATALOGS[lang]
    found: dict[str, str] = {}
    for error in errors:
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    found.setdefault(name, catalogue["v_required"])
            continue
        field = ".".join(str(p) for p in error.absolute_path)
        if field and error.validator == "format":
            found.setdefault(field, catalogue[_FORMAT_MESSAGES.get(error.validator_value, "v_pattern")])
        elif field and error.validator != "additionalProperties":
            found.setdefault(field, catalogue[_MESSAGES.get(error.validator, "v_invalid")].format(n=error.validator_value))
    return found


def _holds(condition, data: dict) -> bool:
    if not isinstance(condition, dict):
        return True
    try:
        return schema_validator(condition).is_valid(data)
    except (SchemaError, Unresolvable):
        return True  # the Registration BB judges a rule we cannot read


def unmet_determinants(entry: dict | None, data: dict, lang: str) -> dict[str, str]:
    """Who may register: for each registration with conditional determinants the applicant must meet one; otherwise
    every determinant of it is named (the Registration BB applies the same rule at submission)."""
    unmet = {}
    for r, registration in enumerate((entry or {}).get("registrations", [])):
        determinants = registration.get("determinants") or []
        if not any(d.get("condition") for d in determinants) or any(_holds(d.get("condition"), data) for d in determinants):
            continue
        for d, determinant in enumerate(determinants):
            rule = i18n.text(determinant.get("description"), lang)
            unmet[f"registrations[{r}].determinants[{d}]"] = i18n.CATALOGS[lang]["v_not_eligible"].format(rule=rule)
    return unmet
