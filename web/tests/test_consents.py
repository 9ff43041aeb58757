"""The consent step of the wizard and "my consents", against real identity, registration, consent and gateway servers."""
import re

import httpx
import pytest

from .helpers import cash_transfer_service_id, consent_record_ids, enterprise_service_id, new_draft, signed_in_browser

ENTERPRISE_PURPOSE_LO = "ລົງທະບຽນວິສາຫະກິດ ແລະ ອອກໃບທະບຽນວິສາຫະກິດ"
CASH_TRANSFER_PURPOSE_EN = "Share your data with the paying agency so it can pay your cash transfer"


@pytest.fixture(scope="module")
def service_id(registration_url):
    return enterprise_service_id(registration_url)


@pytest.fixture(scope="module")
def cash_transfer(registration_url):
    return cash_transfer_service_id(registration_url)


@pytest.fixture
def fresh_citizen(base_url, identity_url):
    """A citizen who never used the Consent BB: a new person at the Identity BB, signed in to the portal."""
    return signed_in_browser(base_url, new_person_at=identity_url)


def test_wizard_starts_with_the_data_agreement(fresh_citizen, service_id):
    draft_id = new_draft(fresh_citizen, service_id, consent=False)

    page = fresh_citizen.get(f"/drafts/{draft_id}")

    assert page.status_code == 200
    assert ENTERPRISE_PURPOSE_LO in page.text and 'id="give-consent"' in page.text
    assert "ກະຊວງອຸດສາຫະກຳ ແລະ ການຄ້າ" in page.text and "3650 ມື້" in page.text  # controller and retention, in Lao
    assert 'name="company_name_lo"' not in page.text  # the form comes after consent


def test_consent_needs_the_tick(fresh_citizen, service_id):
    draft_id = new_draft(fresh_citizen, service_id, consent=False)

    refused = fresh_citizen.post(f"/drafts/{draft_id}/consent", data={})

    assert refused.status_code == 400 and 'id="consent-error"' in refused.text
    assert 'id="give-consent"' in fresh_citizen.get(f"/drafts/{draft_id}").text  # still not given


def test_given_consent_opens_the_form_and_shows_in_my_consents(fresh_citizen, service_id):
    draft_id = new_draft(fresh_citizen, service_id, consent=False)

    given = fresh_citizen.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"})
    form = fresh_citizen.get(given.headers["location"])
    mine = fresh_citizen.get("/consents")

    assert given.status_code == 303 and "ໃຫ້ຄວາມຍິນຍອມແລ້ວ" in form.text and 'name="company_name_lo"' in form.text
    assert mine.status_code == 200 and ENTERPRISE_PURPOSE_LO in mine.text and "ມີຜົນ" in mine.text
    assert re.search(r"ວັນທີ: <time>\d{4}-\d{2}-\d{2}</time>", mine.text)  # when it was given


def test_consent_is_asked_once_per_agreement(fresh_citizen, service_id):
    new_draft(fresh_citizen, service_id)

    second = new_draft(fresh_citizen, service_id, consent=False)

    assert 'name="company_name_lo"' in fresh_citizen.get(f"/drafts/{second}").text


def test_withdrawal_asks_for_confirmation_then_withdraws(fresh_citizen, service_id):
    new_draft(fresh_citizen, service_id)
    record_id = consent_record_ids(fresh_citizen)[0]

    confirm = fresh_citizen.get(f"/consents/{record_id}/withdraw")
    without_confirmation = fresh_citizen.post(f"/consents/{record_id}/withdraw", data={})
    still_active = fresh_citizen.get("/consents")
    withdrawn = fresh_citizen.post(f"/consents/{record_id}/withdraw", data={"confirm": "yes"})
    after = fresh_citizen.get(withdrawn.headers["location"])

    assert confirm.status_code == 200 and 'id="confirm-withdraw"' in confirm.text and ENTERPRISE_PURPOSE_LO in confirm.text
    assert without_confirmation.status_code == 303 and "ມີຜົນ" in still_active.text
    assert withdrawn.status_code == 303
    assert "ຖອນຄວາມຍິນຍອມແລ້ວ" in after.text and "ຖອນແລ້ວ" in after.text and 'class="button secondary withdraw"' not in after.text


def test_withdrawn_consent_is_asked_again_by_the_wizard(fresh_citizen, service_id):
    new_draft(fresh_citizen, service_id)
    record_id = consent_record_ids(fresh_citizen)[0]
    fresh_citizen.post(f"/consents/{record_id}/withdraw", data={"confirm": "yes"})
    draft_id = new_draft(fresh_citizen, service_id, consent=False)

    asked = fresh_citizen.get(f"/drafts/{draft_id}")
    given = fresh_citizen.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"})

    assert 'id="give-consent"' in asked.text
    assert given.status_code == 303 and "ມີຜົນ" in fresh_citizen.get("/consents").text


def test_another_citizens_record_cannot_be_withdrawn(fresh_citizen, base_url, identity_url, service_id):
    new_draft(fresh_citizen, service_id)
    record_id = consent_record_ids(fresh_citizen)[0]
    intruder = signed_in_browser(base_url, new_person_at=identity_url)

    page = intruder.get(f"/consents/{record_id}/withdraw")
    attempt = intruder.post(f"/consents/{record_id}/withdraw", data={"confirm": "yes"})

    assert page.status_code == 404 and attempt.status_code == 404
    assert "ມີຜົນ" in fresh_citizen.get("/consents").text


def test_my_consents_in_english(base_url, identity_url, cash_transfer):
    english = signed_in_browser(base_url, lang="en", new_person_at=identity_url)
    draft_id = new_draft(english, cash_transfer, consent=False)

    agreement = english.get(f"/drafts/{draft_id}")
    english.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"})
    mine = english.get("/consents")

    assert CASH_TRANSFER_PURPOSE_EN in agreement.text and "Ministry of Labour and Social Welfare" in agreement.text
    assert CASH_TRANSFER_PURPOSE_EN in mine.text and "Active" in mine.text and "Withdraw consent" in mine.text


def test_my_consents_is_empty_for_a_citizen_without_any(fresh_citizen):
    assert "ທ່ານຍັງບໍ່ໄດ້ໃຫ້ຄວາມຍິນຍອມໃດໆ" in fresh_citizen.get("/consents").text


def test_my_consents_needs_sign_in(base_url):
    response = httpx.get(f"{base_url}/consents")

    assert response.status_code == 303 and response.headers["location"].startswith("/auth/login")
