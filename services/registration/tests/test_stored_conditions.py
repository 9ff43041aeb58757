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
