"""The catalogue as citizens see it: the home page without sign-in, and the wizard's labels, document slots and fee;
the social cash transfer form in English with its eligibility rules."""
import httpx
import pytest

from kernel.testing import free_port, serve
from web import catalogue
from web.app import create_app

from .helpers import PNG, cash_transfer_service_id, enterprise_service_id, new_draft, signed_in_browser

ELIGIBLE_HOUSEHOLD = {"head_of_household": "Bounmy Phommachanh", "id_number": "LA-778899", "province": "LPB", "district": "Xieng Ngeun",
                      "household_size": "5", "monthly_income_lak": "900000", "children_under_5": "0", "pregnant_member": "true"}


@pytest.fixture(scope="module")
def enterprise(registration_url):
    return enterprise_service_id(registration_url)


@pytest.fixture(scope="module")
def cash_transfer(registration_url):
    return cash_transfer_service_id(registration_url)


@pytest.fixture(scope="module")
def english(base_url):
    return signed_in_browser(base_url, lang="en")


def test_home_page_lists_services_without_sign_in(base_url, enterprise, cash_transfer):
    page = httpx.get(f"{base_url}/")

    assert page.status_code == 200
    assert f'data-service-id="{enterprise}"' in page.text and f'data-service-id="{cash_transfer}"' in page.text
    assert "ການຈົດທະບຽນວິສາຫະກິດ" in page.text and "200 000 LAK" in page.text
    assert 'href="/auth/login?next=/services"' in page.text  # applying needs sign-in


def test_home_page_still_offers_sign_in_when_the_catalogue_cannot_be_read(settings):
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    cut_off = settings.model_copy(update={"gateway_url": nobody_listens, "port": port, "public_url": f"http://127.0.0.1:{port}"})

    with serve(create_app(cut_off), port=port) as url:
        page = httpx.get(f"{url}/")

    assert page.status_code == 200 and 'id="catalogue-unavailable"' in page.text and 'id="sign-in"' in page.text


def test_home_page_in_english(base_url):
    page = httpx.get(f"{base_url}/?lang=en")

    assert "Enterprise registration" in page.text and "Social cash transfer enrolment" in page.text and "No fee" in page.text


def test_services_page_shows_fees(english, enterprise):
    page = english.get("/services")

    assert "Registration fee" not in page.text  # the card shows the amount; the label is in the wizard
    assert f'data-service-id="{enterprise}"' in page.text and "200 000 LAK" in page.text


def test_wizard_labels_follow_the_language(base_url, english, enterprise):
    lao = signed_in_browser(base_url)
    lao_page = lao.get(f"/drafts/{new_draft(lao, enterprise)}")
    english_page = english.get(f"/drafts/{new_draft(english, enterprise)}")

    assert "ຊື່ວິສາຫະກິດ (ພາສາລາວ)" in lao_page.text and "ທຶນຈົດທະບຽນ (ກີບ)" in lao_page.text
    assert "Enterprise name (English)" in english_page.text and "Registered capital (LAK)" in english_page.text
    assert 'type="email"' in english_page.text and 'type="tel"' in english_page.text


def test_wizard_has_one_upload_slot_per_document_with_its_limits(english, enterprise):
    page = english.get(f"/drafts/{new_draft(english, enterprise)}")

    assert 'id="d-owner_id_card"' in page.text and 'id="d-premises_lease"' in page.text
    assert "Owner&#39;s ID card" in page.text and "File types: PDF, JPEG, PNG, up to 5 MB" in page.text
    assert "File types: PDF, up to 10 MB" in page.text
    assert 'accept="application/pdf,image/jpeg,image/png"' in page.text


def test_wizard_and_review_show_the_fee(english, enterprise):
    draft_id = new_draft(english, enterprise)

    wizard = english.get(f"/drafts/{draft_id}")
    review = english.get(f"/drafts/{draft_id}/review")

    for page in (wizard, review):
        assert "Registration fee: <strong class=\"amount\">200 000 LAK</strong>" in page.text


def test_cash_transfer_form_has_checkboxes_for_yes_no_questions(english, cash_transfer):
    page = english.get(f"/drafts/{new_draft(english, cash_transfer)}")

    assert 'name="pregnant_member" type="checkbox" value="true"' in page.text
    assert "Monthly household income (LAK)" in page.text and "Family book" in page.text


def test_eligibility_rules_are_checked_in_english_before_review(english, cash_transfer):
    draft_id = new_draft(english, cash_transfer)
    no_child_nobody_pregnant_too_many_members = {**ELIGIBLE_HOUSEHOLD, "pregnant_member": "", "household_size": "40"}

    response = english.post(f"/drafts/{draft_id}", data={**no_child_nobody_pregnant_too_many_members, "action": "review"})

    assert response.status_code == 400
    assert 'id="e-children_under_5">Must be at least 1' in response.text  # the form's if/then eligibility rule
    assert 'id="e-household_size">Must be at most 30' in response.text


def test_income_above_the_programme_limit_is_not_eligible(english, cash_transfer):
    draft_id = new_draft(english, cash_transfer)

    response = english.post(f"/drafts/{draft_id}", data={**ELIGIBLE_HOUSEHOLD, "monthly_income_lak": "2000000", "action": "review"})

    assert response.status_code == 400
    assert "Not eligible: Households with a monthly income of at most 1 500 000 LAK" in response.text  # the registration's determinant


def test_eligibility_messages_in_lao(base_url, cash_transfer):
    lao = signed_in_browser(base_url)
    draft_id = new_draft(lao, cash_transfer)

    response = lao.post(f"/drafts/{draft_id}", data={**ELIGIBLE_HOUSEHOLD, "pregnant_member": "", "action": "review"})

    assert response.status_code == 400 and 'id="e-children_under_5">ຕ້ອງບໍ່ຕ່ຳກວ່າ 1' in response.text


def test_eligible_household_reaches_review_with_its_answers(english, cash_transfer):
    draft_id = new_draft(english, cash_transfer)

    response = english.post(f"/drafts/{draft_id}", data={**ELIGIBLE_HOUSEHOLD, "action": "review"})
    review = english.get(response.headers["location"])

    assert response.status_code == 303 and response.headers["location"] == f"/drafts/{draft_id}/review"
    assert "<dt>A member is pregnant</dt><dd>Yes</dd>" in review.text and "<dt>A member has a disability</dt><dd>No</dd>" in review.text
    assert "No fee" in review.text


def test_registration_refusal_of_an_ineligible_household_is_shown_in_english(english, cash_transfer):
    draft_id = new_draft(english, cash_transfer)
    english.post(f"/drafts/{draft_id}", data={**ELIGIBLE_HOUSEHOLD, "monthly_income_lak": "2000000", "action": "save"})  # saved as typed

    response = english.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})

    assert response.status_code == 400
    assert "Not eligible: Households with a monthly income of at most 1 500 000 LAK" in response.text  # the Registration BB's verdict


def test_wizard_groups_fields_in_titled_sections_in_the_chosen_language(base_url, english, cash_transfer):
    english_page = english.get(f"/drafts/{new_draft(english, cash_transfer)}").text
    lao = signed_in_browser(base_url)
    lao_page = lao.get(f"/drafts/{new_draft(lao, cash_transfer)}").text

    positions = [english_page.index(f'id="s-{section}"') for section in ("household", "address", "eligibility", "contact")]
    assert positions == sorted(positions)
    assert "<legend>Eligibility</legend>" in english_page and "<legend>ເງື່ອນໄຂການເຂົ້າຮ່ວມ</legend>" in lao_page
    eligibility = english_page[positions[2]:positions[3]]
    assert 'id="f-monthly_income_lak"' in eligibility and 'id="f-phone"' not in eligibility


def test_dropdowns_show_option_labels_and_send_the_codes(base_url, english, cash_transfer):
    english_page = english.get(f"/drafts/{new_draft(english, cash_transfer)}").text
    lao = signed_in_browser(base_url)
    lao_page = lao.get(f"/drafts/{new_draft(lao, cash_transfer)}").text

    assert '<option value="LPB">Luang Prabang</option>' in english_page
    assert '<option value="LPB">ຫຼວງພະບາງ</option>' in lao_page
    assert ">LPB<" not in english_page and ">LPB<" not in lao_page


def test_review_and_application_show_the_option_label_not_the_code(english, cash_transfer):
    draft_id = new_draft(english, cash_transfer)
    assert english.post(f"/drafts/{draft_id}", data={**ELIGIBLE_HOUSEHOLD, "action": "review"}).status_code == 303

    review = english.get(f"/drafts/{draft_id}/review").text
    submitted = english.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})
    application = english.get(submitted.headers["location"]).text

    assert "<dd>Luang Prabang</dd>" in review and "<dd>LPB</dd>" not in review
    assert submitted.status_code == 303 and submitted.headers["location"].startswith("/applications/")
    assert '<dd data-field="province">Luang Prabang</dd>' in application
    assert '<dd data-field="monthly_income_lak">900000</dd>' in application


def test_wizard_shows_the_file_name_in_its_document_slot(english, enterprise):
    draft_id = new_draft(english, enterprise)

    uploaded = english.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"}, files={"file": ("my-id.png", PNG, "image/png")})
    page = english.get(f"/drafts/{draft_id}").text

    assert uploaded.status_code == 303
    id_card_slot = page[page.index('id="upload-owner_id_card"'):page.index('id="upload-premises_lease"')]
    assert '<p class="uploaded-file" data-slot="owner_id_card">✓ Uploaded: <span class="file-name">my-id.png</span>' in id_card_slot
    assert "uploaded-file" not in page[page.index('id="upload-premises_lease"'):]  # the lease slot is still empty


@pytest.mark.parametrize("max_bytes, shown", [(5_000_000, "4.8"), (5_242_880, "5"), (1_048_576, "1"), (300_000, "0.3")])
def test_a_document_slots_size_limit_is_shown_to_one_decimal(max_bytes, shown):
    slots = catalogue.documents({"documents": [{"type": "photo", "contentTypes": ["image/png"], "maxBytes": max_bytes}]}, "lo")

    assert slots[0]["max_mb"] == shown
