"""Determinants checked and fees recorded at submission; the expected end of processing shown to the applicant."""
from datetime import datetime, timedelta

import pytest

from .api_client import IM, cash_transfer_document, enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def cash_transfer(api):
    return api.publish(cash_transfer_document())["id"]


def test_a_household_over_the_income_limit_is_refused_naming_the_rule_and_nothing_is_stored(api, cash_transfer):
    applicant = api.token(sub=unique("citizen"))

    refused = api.submit_household(cash_transfer, applicant, expect=400, monthly_income_lak=2_000_000).json()

    assert refused["code"] == "not_eligible"
    assert [d["field"] for d in refused["details"]] == ["registrations[0].determinants[0]"]
    assert refused["details"][0]["description"]["en"] == "Households with a monthly income of at most 1 500 000 LAK"
    assert api.call("GET", "/applications", expect=200, headers={**applicant, **IM}).json() == []


def test_an_eligible_household_is_accepted_with_its_expected_end(api, cash_transfer):
    applicant = api.token(sub=unique("citizen"))

    file = api.submit_household(cash_transfer, applicant, phone="+856 20 5555 0001").json()

    registered, expected_end = (datetime.fromisoformat(file[k].replace("Z", "+00:00")) for k in ("registered", "expectedEnd"))
    assert timedelta(days=30) - timedelta(seconds=5) < expected_end - registered < timedelta(days=30, seconds=5)
    assert file["fees"] == {"items": [], "totals": []}


def test_fees_are_recorded_on_the_file_and_shown_to_applicant_and_operator(api):
    document = enterprise_document()
    document["registrations"][0]["fees"].append({"label": {"en": "Large capital fee", "lo": "ຄ່າທຳນຽມທຶນໃຫຍ່"}, "amount": 500000,
                                                 "currency": "LAK", "condition": {"properties": {"registered_capital_lak": {"minimum": 10**9}}}})
    service_id = api.publish(document)["id"]
    applicant, reviewer = api.token(sub=unique("citizen")), api.token(sub=unique("op"), roles=document["roles"][0]["operator_roles"])

    file_id = api.submit(service_id, applicant, enterprise_data(registered_capital_lak=2 * 10**9)).json()["fileId"]
    seen_by_applicant, seen_by_reviewer = api.file(applicant, file_id).json(), api.file(reviewer, file_id).json()

    assert seen_by_applicant["fees"]["totals"] == [{"currency": "LAK", "amount": 700000}]
    assert [i["label"]["lo"] for i in seen_by_applicant["fees"]["items"]] == ["ຄ່າທຳນຽມຈົດທະບຽນ", "ຄ່າທຳນຽມທຶນໃຫຍ່"]
    assert seen_by_reviewer["fees"] == seen_by_applicant["fees"]
    assert seen_by_applicant["expectedEnd"] > seen_by_applicant["registered"]  # the demo service takes 10 days


def test_a_conditional_document_is_required_only_of_the_applicants_it_describes(api):
    document = enterprise_document()
    document["documents"][1].update(required=True, condition={"properties": {"registered_capital_lak": {"minimum": 10**9}}})
    service_id = api.publish(document)["id"]
    applicant = api.token(sub=unique("citizen"))

    small = api.submit(service_id, applicant, enterprise_data(registered_capital_lak=10**6))
    large = api.submit(service_id, applicant, enterprise_data(registered_capital_lak=10**10), expect=400).json()

    assert small.json()["status"]["code"] == "PENDING"
    assert large["details"] == [{"field": "documents.premises_lease", "reason": "required document is missing"}]


def test_an_application_whose_email_cannot_be_delivered_to_is_refused(api):
    service_id = api.publish(enterprise_document())["id"]
    applicant = api.token(sub=unique("citizen"))

    refused = api.submit(service_id, applicant, enterprise_data(owner_email="not-an-email"), expect=400).json()

    assert refused["code"] == "invalid_form_data"
    assert {"field": "owner_email", "reason": "must be a valid email"} in refused["details"]
    assert api.call("GET", "/applications", expect=200, headers={**applicant, **IM}).json() == []
