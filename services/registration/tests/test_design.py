"""The design document's validation and form checks, without I/O."""
import copy

import pytest

from registration import design, forms
from .api_client import enterprise_data, enterprise_document, sct_document


def fields(problems) -> dict:
    return {p.field: p.reason for p in problems}


def test_bundled_demo_services_are_valid():
    assert design.validate_service(enterprise_document(with_consent=True)) == []
    assert design.validate_service(sct_document()) == []


def test_each_problem_names_its_field():
    document = enterprise_document(code="lower", type="Secret", with_consent=True)
    del document["name"]["lo"]
    document["eforms"][0]["fields"]["owner_phone"]["classification"] = "secret"
    del document["eforms"][0]["fields"]["district"]
    document["documents"][0]["max_bytes"] = 0
    document["roles"][0]["decisions"] = {"approve": "nowhere", "escalate": "end"}
    document["steps"].append({"type": "require_consent"})

    problems = fields(design.validate_service(document))

    assert set(problems) == {
        "code", "type", "name.lo", "eforms[0].fields.owner_phone.classification", "eforms[0].fields.district",
        "documents[0].max_bytes", "roles[0].decisions.approve", "roles[0].decisions.escalate", "steps[4].type", "steps[4].agreement_id",
    }
    assert "nowhere" in problems["roles[0].decisions.approve"]


def test_an_invalid_json_schema_is_named():
    document = enterprise_document()
    document["eforms"][0]["schema"]["properties"]["activity"]["type"] = "text"

    assert list(fields(design.validate_service(document))) == ["eforms[0].schema.properties.activity.type"]


def test_send_back_may_route_to_another_role_but_not_to_itself():
    document = enterprise_document()
    document["roles"][1]["decisions"]["send_back"] = "registrar"

    assert fields(design.validate_service(document)) == {"roles[1].decisions.send_back": "a decision cannot route a file back to the role that made it"}


def test_form_data_failures_name_each_field_without_the_value():
    eform = enterprise_document()["eforms"][0]
    data = enterprise_data(registered_capital_lak=-5, province="Paris", nickname="Noy")
    del data["owner_name"]

    problems = fields(forms.validate_data(eform, data))

    assert problems == {"registered_capital_lak": "must be at least 1", "owner_name": "required", "nickname": "not a field of this form",
                        "province": problems["province"]}
    assert "Paris" not in problems["province"]


def test_each_missing_field_is_named_once():
    eform = enterprise_document()["eforms"][0]

    problems = forms.validate_data(eform, {})

    missing = [p.field for p in problems if p.reason == "required"]
    assert missing and len(missing) == len(set(missing)) == len(eform["schema"]["required"])


def test_vientiane_capital_districts_are_checked():
    eform = enterprise_document()["eforms"][0]

    assert list(fields(forms.validate_data(eform, enterprise_data(district="Pakse")))) == ["district"]
    assert forms.validate_data(eform, enterprise_data(province="CPS", district="Pakse")) == []


@pytest.mark.parametrize("household, eligible", [
    ({"children_under_5": 1, "pregnant_member": False, "member_with_disability": False}, True),
    ({"children_under_5": 0, "pregnant_member": True, "member_with_disability": False}, True),
    ({"children_under_5": 0, "pregnant_member": False, "member_with_disability": False}, False),
])
def test_cash_transfer_eligibility_rules(household, eligible):
    data = {"head_of_household": "Noy", "id_number": "LA-998877", "province": "SVK", "district": "Kaysone", "household_size": 5,
            "monthly_income_lak": 900_000, **household}

    assert (forms.validate_data(sct_document()["eforms"][0], data) == []) is eligible


def test_roles_see_only_their_classifications():
    eform = enterprise_document()["eforms"][0]

    visible = forms.filter_data(enterprise_data(), eform, ["public"])

    assert set(visible) == {"company_name_lo", "company_name_en", "activity", "province", "district"}


def test_validation_never_changes_the_document():
    document = enterprise_document()
    before = copy.deepcopy(document)

    design.validate_service(document)

    assert document == before
