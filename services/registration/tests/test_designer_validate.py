"""Designer API: validating a service document without storing it (the designer console's live validation)."""
import pytest

from registration import forms
from registration.design import Problem

from .api_client import enterprise_document


def test_valid_document_is_reported_valid_and_nothing_is_stored(api):
    headers = api.designer()
    before = api.call("GET", "/designer/services", expect=200, headers=headers).json()

    checked = api.call("POST", "/designer/services/validate", expect=200, headers=headers, json=enterprise_document()).json()

    assert checked == {"valid": True, "problems": []}
    assert api.call("GET", "/designer/services", expect=200, headers=headers).json() == before


def test_each_problem_names_its_field_and_reason(api):
    document = enterprise_document()
    del document["roles"]
    document["eforms"][0]["schema"] = "not a schema"

    checked = api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json()

    fields = {problem["field"] for problem in checked["problems"]}
    assert checked["valid"] is False
    assert "roles" in fields and any(field.startswith("eforms[0]") for field in fields)
    assert all(problem["reason"] for problem in checked["problems"])


def test_validation_needs_the_designer_role(api):
    api.call("POST", "/designer/services/validate", expect=401, json=enterprise_document())


def _with_field(schema: dict) -> dict:
    document = enterprise_document()
    document["eforms"][0]["schema"]["properties"]["a"] = schema
    document["eforms"][0]["fields"]["a"] = {"label": {"en": "A", "lo": "A"}, "classification": "public",
                                          "layout": {"section": "owner"}}
    return document


@pytest.mark.parametrize("schema, reason", [
    ({"$ref": "#/nope"}, "$ref #/nope does not resolve inside the schema"),
    ({"$ref": "https://example.org/remote.json"}, "$ref https://example.org/remote.json does not resolve inside the schema"),
    ({"$ref": "#/properties/a"}, "its $refs loop back to a schema that applies to the same value"),
    ({"allOf": [{"$ref": "#/properties/a/anyOf/0"}], "anyOf": [{"$ref": "#/properties/a"}]},
     "its $refs loop back to a schema that applies to the same value"),
    ({"type": "string", "pattern": "^(a+)+$"}, "pattern '^(a+)+$' repeats a group"),
    ({"type": "string", "pattern": "(a|aa)*b"}, "pattern '(a|aa)*b' repeats a group"),
])
def test_a_schema_that_cannot_check_submissions_is_refused(api, schema, reason):
    checked = api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=_with_field(schema)).json()
    imported = api.call("POST", "/designer/services/import", expect=400, headers=api.designer(), params={"publish": "true"},
                        json=_with_field(schema)).json()

    assert checked["valid"] is False
    assert [p["field"] for p in checked["problems"] if p["reason"].startswith(reason)] == ["eforms[0].schema"]
    assert any(d["reason"].startswith(reason) for d in imported["details"])


def test_a_condition_with_a_dangling_ref_is_refused(api):
    document = enterprise_document()
    document["documents"][0]["condition"] = {"$ref": "#/$defs/missing"}

    checked = api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json()

    assert {"field": "documents[0].condition", "reason": "$ref #/$defs/missing does not resolve inside the schema"} in checked["problems"]


@pytest.mark.parametrize("condition", [{"$ref": "#"},
                                       {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}])
def test_a_condition_whose_refs_loop_onto_the_same_value_is_refused(api, condition):
    document = enterprise_document()
    document["documents"][0]["condition"] = condition

    checked = api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json()
    imported = api.call("POST", "/designer/services/import", expect=400, headers=api.designer(), params={"publish": "true"},
                        json=document).json()

    loops = {"field": "documents[0].condition", "reason": "its $refs loop back to a schema that applies to the same value"}
    assert checked["valid"] is False and loops in checked["problems"]
    assert loops in imported["details"]


def test_recursive_schemas_that_go_into_the_value_are_accepted(api):
    document = _with_field({"type": "object", "properties": {"name": {"type": "string"},
                                                             "children": {"type": "array", "items": {"$ref": "#/properties/a"}}}})
    document["documents"][0]["condition"] = {"type": "object", "additionalProperties": {"$ref": "#"}}

    assert api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json() == {"valid": True, "problems": []}


def test_refs_inside_the_schema_and_simple_repetitions_are_accepted(api):
    document = _with_field({"$ref": "#/$defs/code"})
    document["eforms"][0]["schema"]["$defs"] = {"code": {"type": "string", "pattern": "^([A-Z]{2}-)+[0-9]+$"}}

    assert api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json() == {"valid": True, "problems": []}


def test_a_stored_schema_with_a_dangling_ref_gives_a_form_problem_not_an_error():
    eform = {"schema": {"type": "object", "properties": {"a": {"$ref": "#/nope"}}}}

    assert forms.validate_data(eform, {"a": 1}) == [Problem("formData.eFormId", "this e-form's schema has a $ref that does not resolve: the service must be corrected")]


def test_a_stored_schema_or_condition_with_a_slow_pattern_is_never_run():
    """Designs published before the designer refused such patterns: "aaa...!" against ^(a+)+$ takes 2^n steps."""
    from kernel.errors import ApiError
    from registration import rules

    slow = {"type": "string", "pattern": "^(a+)+$"}
    eform = {"schema": {"type": "object", "properties": {"a": slow}}}

    assert forms.validate_data(eform, {"a": "a" * 22 + "!"}) == [
        Problem("formData.eFormId", "this e-form's schema has a pattern that can take seconds to check: the service must be corrected")]
    with pytest.raises(ApiError) as refused:
        rules.holds({"properties": {"a": slow}}, {"a": "a" * 22 + "!"})
    assert (refused.value.status, refused.value.code) == (400, "invalid_service_design")


@pytest.mark.parametrize("content_type, body", [("application/json", b'{"code": "X1", "processing_days": 1e400}'),
                                                ("application/yaml", b"code: X1\nprocessing_days: .inf\n")])
def test_a_number_out_of_range_in_a_design_is_400(api, content_type, body):
    refused = api.call("POST", "/designer/services/validate", expect=400, headers={**api.designer(), "Content-Type": content_type}, content=body).json()

    assert refused["details"] == [{"field": "body", "reason": "numbers must be finite"}]
