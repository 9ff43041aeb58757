"""Form data against an e-form: JSON Schema validation naming each field, and what each processing role may see."""
from referencing.exceptions import Unresolvable

from kernel.jsonschemas import stored_slow_pattern_problem, validator as schema_validator
from registration.design import UNCLASSIFIED, Problem

def validate_data(eform: dict, data) -> list[Problem]:
    """Each failing field of the submitted data and the reason, without echoing the submitted values."""
    if not isinstance(data, dict):
        return [Problem("formData.data", "must be an object of field values")]
    if stored_slow_pattern_problem(eform["schema"]):
        # A pattern that backtracks for seconds, in a design published before the designer refused them: never run it.
        return [Problem("formData.eFormId", "this e-form's schema has a pattern that can take seconds to check: the service must be corrected")]
    validator = schema_validator(eform["schema"])
    problems = []
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable:
        # A schema published before the designer refused broken $refs: say so (nothing is stored) rather than fail.
        return [Problem("formData.eFormId", "this e-form's schema has a $ref that does not resolve: the service must be corrected")]
    except RecursionError:  # $refs looping onto the same value, in a design published before the designer refused them
        return [Problem("formData.eFormId", "this e-form's schema has $refs that loop: the service must be corrected")]
    for error in errors:
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = [name for name in error.validator_value if not (isinstance(error.instance, dict) and name in error.instance)]
            problems.extend(Problem(".".join([*path, name]), "required") for name in missing)
        elif error.validator == "additionalProperties":
            allowed = set((error.schema.get("properties") or {}))
            extra = [name for name in error.instance if name not in allowed] if isinstance(error.instance, dict) else []
            problems.extend(Problem(".".join([*path, name]), "not a field of this form") for name in extra)
        else:
            problems.append(Problem(".".join(path) or "formData.data", _reason(error)))
    # jsonschema reports `required` once per missing field, each naming the whole list: keep one entry per field.
    unique = {(p.field, p.reason): p for p in problems}
    return list(unique.values())


def _reason(error) -> str:
    # jsonschema's messages quote the submitted value; say what was expected instead.
    expected = {
        "type": lambda v: f"must be of type {v}",
        "enum": lambda v: f"must be one of {', '.join(map(str, v))}",
        "const": lambda v: f"must be {v}",
        "minimum": lambda v: f"must be at least {v}",
        "maximum": lambda v: f"must be at most {v}",
        "exclusiveMinimum": lambda v: f"must be more than {v}",
        "exclusiveMaximum": lambda v: f"must be less than {v}",
        "minLength": lambda v: f"must have at least {v} characters",
        "maxLength": lambda v: f"must have at most {v} characters",
        "pattern": lambda v: f"must match {v}",
        "format": lambda v: f"must be a valid {v}",
        "minItems": lambda v: f"must have at least {v} items",
        "maxItems": lambda v: f"must have at most {v} items",
    }
    describe = expected.get(error.validator)
    return describe(error.validator_value) if describe else f"fails the form's '{error.validator}' rule"


def visible_fields(eform: dict, classifications) -> set[str]:
    """The fields whose classification is among those the role may see; unclassified fields count as sensitive."""
    allowed = set(classifications)
    fields = eform.get("fields") or {}
    names = set((eform.get("schema") or {}).get("properties") or {}) | set(fields)
    return {name for name in names if (fields.get(name) or {}).get("classification", UNCLASSIFIED) in allowed}


def filter_data(data: dict, eform: dict | None, classifications) -> dict:
    if eform is None:
        return {}
    visible = visible_fields(eform, classifications)
    return {name: value for name, value in (data or {}).items() if name in visible}
