"""A condition stored before the designer refused unresolvable $refs: never a 500 at submission (and never fetched:
kernel/tests/test_jsonschemas.py)."""
import pytest

from kernel.errors import ApiError
from registration import rules


def test_a_condition_whose_ref_does_not_resolve_is_a_clear_400():
    with pytest.raises(ApiError) as refused:
        rules.holds({"properties": {"a": {"$ref": "#/nope"}}}, {"a": 1})

    assert (refused.value.status, refused.value.code) == (400, "invalid_service_design")


def test_conditions_that_resolve_inside_themselves_still_decide():
    condition = {"$defs": {"big": {"minimum": 10}}, "properties": {"capital": {"$ref": "#/$defs/big"}}}

    assert rules.holds(condition, {"capital": 20}) and not rules.holds(condition, {"capital": 5})


def test_refs_that_loop_onto_the_same_value_are_a_clear_400_not_a_500():
    from registration.forms import validate_data

    looping = {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}}

    with pytest.raises(ApiError) as refused:
        rules.holds(looping, {"a": 1})
    [problem] = validate_data({"schema": looping}, {"a": 1})

    assert (refused.value.status, refused.value.code) == (400, "invalid_service_design")
    assert problem.field == "formData.eFormId"
