"""Designer API: validating a service document without storing it (the designer console's live validation)."""
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
