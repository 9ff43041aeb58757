"""Determinants and fees against form data, and their design-time checks, without I/O."""
from registration import design, rules
from .api_client import HOUSEHOLD, enterprise_data, enterprise_document, sct_document


def fields(problems) -> dict:
    return {p.field: p.reason for p in problems}


def test_a_household_under_the_income_limit_meets_the_determinant():
    assert rules.unmet_determinants(sct_document(), HOUSEHOLD) == []


def test_a_household_over_the_income_limit_is_told_which_rule_in_both_languages():
    unmet = rules.unmet_determinants(sct_document(), {**HOUSEHOLD, "monthly_income_lak": 2_000_000})

    assert [u["field"] for u in unmet] == ["registrations[0].determinants[0]"]
    assert unmet[0]["description"]["lo"].startswith("ຄອບຄົວທີ່ມີລາຍຮັບບໍ່ເກີນ") and "1 500 000 LAK" in unmet[0]["reason"]


def test_meeting_any_one_conditional_determinant_is_enough():
    document = sct_document()
    document["registrations"][0]["determinants"].append({
        "description": {"en": "Households with a member with a disability", "lo": "ຄອບຄົວທີ່ມີຜູ້ພິການ"}, "obligation": "optional",
        "condition": {"properties": {"member_with_disability": {"const": True}}}})

    assert rules.unmet_determinants(document, {**HOUSEHOLD, "monthly_income_lak": 2_000_000, "member_with_disability": True}) == []
    assert len(rules.unmet_determinants(document, {**HOUSEHOLD, "monthly_income_lak": 2_000_000})) == 2


def test_determinants_without_conditions_describe_everyone():
    assert rules.unmet_determinants(enterprise_document(), enterprise_data()) == []


def test_fees_are_fixed_conditional_or_per_unit_and_summed_per_currency():
    document = enterprise_document()
    document["registrations"][0]["fees"] += [
        {"label": {"en": "Large capital fee", "lo": "ຄ່າທຳນຽມທຶນໃຫຍ່"}, "amount": 500000, "currency": "LAK",
         "condition": {"properties": {"registered_capital_lak": {"minimum": 1_000_000_000}}}},
        {"label": {"en": "Publication", "lo": "ການພິມເຜີຍແຜ່"}, "amount": 0.5, "currency": "USD", "per_field": "registered_capital_lak"},
    ]

    small = rules.fees_for(document, enterprise_data(registered_capital_lak=10))
    large = rules.fees_for(document, enterprise_data(registered_capital_lak=2_000_000_000))

    assert small["totals"] == [{"currency": "LAK", "amount": 200000}, {"currency": "USD", "amount": 5}]
    assert [i["label"]["en"] for i in small["items"]] == ["Registration fee", "Publication"]
    assert large["totals"][0] == {"currency": "LAK", "amount": 700000}


def test_broken_conditions_and_fee_fields_are_named_at_design_time():
    document = enterprise_document(processing_days=0)
    registration = document["registrations"][0]
    registration["determinants"][0]["condition"] = {"type": "nonsense"}
    registration["fees"][0]["condition"] = "capital > 1"
    registration["fees"][0]["per_field"] = "owner_name"
    document["documents"][0]["condition"] = 5

    problems = fields(design.validate_service(document))

    assert set(problems) == {"processing_days", "registrations[0].determinants[0].condition", "registrations[0].fees[0].condition",
                             "registrations[0].fees[0].per_field", "documents[0].condition"}
