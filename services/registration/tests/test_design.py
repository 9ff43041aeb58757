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


@pytest.mark.parametrize("email", ["not-an-email", "owner@", "owner@example", "owner name@example.la"])
def test_an_email_that_cannot_be_delivered_to_is_refused(email):
    eform = enterprise_document()["eforms"][0]

    assert fields(forms.validate_data(eform, enterprise_data(owner_email=email))) == {"owner_email": "must be a valid email"}


def test_a_deliverable_email_is_accepted():
    eform = enterprise_document()["eforms"][0]

    assert forms.validate_data(eform, enterprise_data(owner_email="somphone.k@example.la")) == []


def test_other_checkable_formats_are_enforced_too():
    eform = {"schema": {"type": "object", "properties": {"born": {"type": "string", "format": "date"},
                                                          "ref": {"type": "string", "format": "uuid"}}}}

    problems = fields(forms.validate_data(eform, {"born": "1990-02-30", "ref": "12345"}))

    assert problems == {"born": "must be a valid date", "ref": "must be a valid uuid"}
    assert forms.validate_data(eform, {"born": "1990-02-28", "ref": "0b7c3f0e-9d5c-4d8e-8b43-6f2f1e0f6a11"}) == []


def test_vientiane_capital_districts_carry_lao_and_english_labels():
    rule = enterprise_document()["eforms"][0]["schema"]["allOf"][0]["then"]["properties"]["district"]

    assert set(rule["x-options"]) == set(rule["enum"])
    assert rule["x-options"]["Chanthabouly"] == {"en": "Chanthabouly", "lo": "ຈັນທະບູລີ"}


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


def test_option_labels_must_label_every_enum_value_in_both_languages():
    document = enterprise_document()
    options = document["eforms"][0]["fields"]["activity"]["options"]
    del options["ict"]
    options["retail"] = {"en": "Retail trade"}
    options["mining"] = {"en": "Mining", "lo": "ບໍ່ແຮ່"}
    document["eforms"][0]["fields"]["district"]["options"] = {"Xaythany": {"en": "Xaythany", "lo": "ໄຊທານີ"}}

    problems = fields(design.validate_service(document))

    assert problems == {
        "eforms[0].fields.activity.options.ict": "missing: every enum value needs a label once any has one",
        "eforms[0].fields.activity.options.retail.lo": "required: a non-empty text",
        "eforms[0].fields.activity.options.mining": "not a value of the field's enum",
        "eforms[0].fields.district.options": "only a field whose schema has an enum can label its options",
    }


def test_sections_have_both_titles_and_fields_name_a_declared_one():
    document = enterprise_document()
    eform = document["eforms"][0]
    eform["sections"][1]["title"] = {"en": "Address"}
    eform["sections"].append({"id": "owner", "title": {"en": "Owner again", "lo": "ເຈົ້າຂອງ"}})
    eform["fields"]["owner_email"]["layout"]["section"] = "contact"

    problems = fields(design.validate_service(document))

    assert set(problems) == {"eforms[0].sections[1].title.lo", "eforms[0].sections[3].id", "eforms[0].fields.owner_email.layout.section"}
    assert "enterprise, address, owner" in problems["eforms[0].fields.owner_email.layout.section"]


def test_a_form_without_sections_may_name_any_section_in_its_layout():
    document = enterprise_document()
    del document["eforms"][0]["sections"]
    document["eforms"][0]["fields"]["owner_email"]["layout"]["section"] = "contact"

    assert design.validate_service(document) == []
