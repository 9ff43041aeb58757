"""Determinants (who must or may register) and fees of a service's registrations, evaluated against submitted form data.

A determinant or fee may carry a `condition`: a JSON Schema the form data must satisfy for it to apply. A registration
with conditional determinants accepts an applicant who meets at least one of them (mandatory: must register, optional:
may register); determinants without a condition describe everyone. A fee is a fixed `amount`, or `amount` per unit of a
numeric form field (`per_field`), and applies when its condition (if any) holds. A required document with a condition
is required only of the applicants it describes.
"""
from decimal import Decimal

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from kernel.errors import ApiError
from kernel.jsonschemas import ref_problem, slow_pattern_problem, stored_slow_pattern_problem, validator as schema_validator


def holds(condition: dict | None, data: dict) -> bool:
    if condition is None:
        return True
    if stored_slow_pattern_problem(condition):  # in a design published before the designer refused such patterns
        raise ApiError(400, "invalid_service_design",
                       "A condition of this service has a pattern that can take seconds to check: the service must be corrected.")
    try:
        return schema_validator(condition).is_valid(data)
    except (Unresolvable, RecursionError):
        # A broken $ref or $refs looping onto the same value, in a design published before the designer refused them:
        # say so (nothing is stored) rather than fail.
        raise ApiError(400, "invalid_service_design",
                       "A condition of this service has a $ref that does not resolve or loops: the service must be corrected.")


def unmet_determinants(document: dict, data: dict) -> list[dict]:
    """Each determinant of a registration the applicant falls outside of, named by its place and both descriptions."""
    unmet = []
    for r, registration in enumerate(document.get("registrations", [])):
        determinants = registration.get("determinants") or []
        if not any("condition" in d for d in determinants):
            continue
        if any(holds(d.get("condition"), data) for d in determinants):
            continue
        for d, determinant in enumerate(determinants):
            description = determinant.get("description") or {}
            unmet.append({"field": f"registrations[{r}].determinants[{d}]",
                          "reason": f"not met: {description.get('en', '')}", "description": description})
    return unmet


def fees_for(document: dict, data: dict) -> dict:
    """The fees this application owes, per registration and in total per currency (amounts as numbers)."""
    items, totals = [], {}
    for registration in document.get("registrations", []):
        for fee in registration.get("fees") or []:
            if not holds(fee.get("condition"), data):
                continue
            amount = Decimal(str(fee["amount"]))
            if fee.get("per_field"):
                amount *= Decimal(str(data.get(fee["per_field"]) or 0))
            currency = fee["currency"]
            totals[currency] = totals.get(currency, Decimal(0)) + amount
            items.append({"registration": registration.get("code", ""), "label": fee.get("label") or {}, "amount": _number(amount),
                          "currency": currency})
    return {"items": items, "totals": [{"currency": c, "amount": _number(a)} for c, a in sorted(totals.items())]}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def check_condition(value, field: str, add) -> None:
    """Design-time check of a determinant's or fee's condition."""
    if value is None:
        return
    if not isinstance(value, dict):
        add(field, "must be a JSON Schema object over the form data")
        return
    try:
        Draft202012Validator.check_schema(value)
    except Exception as exc:  # jsonschema's SchemaError, and anything else a broken schema raises while being checked
        add(field, f"not a valid JSON Schema: {getattr(exc, 'message', type(exc).__name__)}")
        return
    unusable = unusable_schema(value)
    if unusable:
        add(field, unusable)


def unusable_schema(schema: dict) -> str | None:
    """Why a schema that passes check_schema still cannot check submissions: its $refs point outside it (nothing is ever
    fetched) or loop onto the same value (kernel.jsonschemas.ref_problem), or a pattern's backtracking can take
    exponential time on a short value (kernel.jsonschemas.slow_pattern_problem)."""
    return ref_problem(schema) or slow_pattern_problem(schema)

