import pytest

from .helpers import (VALID_ENTERPRISE, enterprise_service_id, new_draft, signed_in_browser,
                      submitted_application)


@pytest.fixture(scope="module")
def browser(base_url):
    return signed_in_browser(base_url)


@pytest.fixture(scope="module")
def service_id(registration_url):
    return enterprise_service_id(registration_url)


def test_wizard_shows_the_e_form_fields(browser, service_id):
    draft_id = new_draft(browser, service_id)

    page = browser.get(f"/drafts/{draft_id}")

    assert page.status_code == 200
    for name in ("company_name_lo", "company_name_en", "registered_capital_lak"):
        assert f'name="{name}"' in page.text
    assert '<option value="VTE">' in page.text  # enum fields become a choice


def test_saved_draft_keeps_its_values(browser, service_id):
    draft_id = new_draft(browser, service_id)

    saved = browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Saved Draft Co", "action": "save"})
    page = browser.get(saved.headers["location"])

    assert saved.status_code == 303
    assert 'value="Saved Draft Co"' in page.text and "ບັນທຶກສະບັບຮ່າງແລ້ວ" in page.text


def test_submit_needs_explicit_confirmation(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}/submit", data={})

    assert response.status_code == 400
    assert "ກະລຸນາໝາຍຢືນຢັນກ່ອນສົ່ງ" in response.text
    assert browser.get(f"/drafts/{draft_id}").status_code == 200  # still a draft


def test_registration_field_errors_come_back_in_lao(browser, service_id):
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Bad name ###", "action": "save"})

    response = browser.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})

    assert response.status_code == 400
    assert 'id="e-company_name_lo">ຕ້ອງປ້ອນຂໍ້ມູນນີ້' in response.text
    assert 'id="e-company_name_en">ຮູບແບບບໍ່ຖືກຕ້ອງ' in response.text


def test_missing_required_document_offers_its_upload(browser, service_id):
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "action": "save"})

    response = browser.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})

    assert response.status_code == 400
    assert "ຕ້ອງຄັດຕິດເອກະສານນີ້" in response.text  # the owner's ID card
    assert 'name="document_type" value="owner_id_card"' in response.text


def test_field_errors_in_english_when_english_is_chosen(base_url, service_id):
    english = signed_in_browser(base_url, lang="en")
    draft_id = new_draft(english, service_id)

    response = english.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})

    assert 'id="e-owner_name">This field is required' in response.text


def test_upload_of_a_type_the_service_does_not_take_is_refused(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"},
                            files={"file": ("id.txt", b"just text", "text/plain")})

    assert response.status_code == 400
    assert "ປະເພດໄຟລ໌ບໍ່ຮອງຮັບ" in response.text


def test_submitted_application_shows_in_my_applications(browser, service_id):
    file_id = submitted_application(browser, service_id)

    detail = browser.get(f"/applications/{file_id}?submitted=1")
    listing = browser.get("/applications")

    assert "ສົ່ງຄຳຮ້ອງແລ້ວ" in detail.text and "ລໍຖ້າພິຈາລະນາ" in detail.text
    assert f'data-file-id="{file_id}"' in listing.text


def test_sent_back_application_is_corrected_and_resubmitted(browser, service_id, registration_api):
    file_id = submitted_application(browser, service_id)
    task = registration_api("GET", "tasks", roles=["enterprise_reviewer"], params={"fileId": file_id}).json()[0]
    assert registration_api("POST", f"tasks/{task['taskId'] if 'taskId' in task else task['id']}/claim", roles=["enterprise_reviewer"]).status_code == 200
    decided = registration_api("POST", f"tasks/{task.get('taskId', task.get('id'))}/complete", roles=["enterprise_reviewer"],
                               json={"data": {"decision": "send_back", "reason": "Capital is unclear",
                                              "fieldsToFix": [{"field": "registered_capital_lak", "reason": "Not the amount on the deed"}]}})
    assert decided.status_code == 200, decided.text

    page = browser.get(f"/applications/{file_id}")
    resubmitted = browser.post(f"/applications/{file_id}/resubmit", data={**VALID_ENTERPRISE, "registered_capital_lak": "75000000"})
    after = browser.get(f"/applications/{file_id}")

    assert "ສົ່ງກັບຄືນໃຫ້ແກ້ໄຂ" in page.text and "Capital is unclear" in page.text and 'id="resubmit"' in page.text
    assert 'id="e-registered_capital_lak">Not the amount on the deed' in page.text  # the field the operator marked
    assert resubmitted.status_code == 303
    assert "ລໍຖ້າພິຈາລະນາ" in after.text and "ແກ້ໄຂ ແລະ ສົ່ງຄືນ" in after.text


def test_other_peoples_drafts_are_not_found(browser):
    assert browser.get("/drafts/00000000-0000-0000-0000-000000000000").status_code == 404



def test_citizen_writes_to_the_officers_and_sees_the_answer(browser, service_id, registration_api):
    file_id = submitted_application(browser, service_id)
    sent = browser.post(f"/applications/{file_id}/messages", data={"text": "ເອກະສານເພີ່ມເຕີມຈະສົ່ງມື້ອື່ນ"})
    answered = registration_api("POST", f"applications/{file_id}/messages", roles=["enterprise_reviewer"], json={"text": "Thank you"})

    page = browser.get(f"/applications/{file_id}")

    assert sent.status_code == 303 and answered.status_code == 201, answered.text
    assert "ເອກະສານເພີ່ມເຕີມຈະສົ່ງມື້ອື່ນ" in page.text and "Thank you" in page.text
    assert '<strong>ເຈົ້າໜ້າທີ່</strong>: Thank you' in page.text and "operator-1" not in page.text  # no staff ids for the citizen


def test_empty_message_is_refused_in_lao(browser, service_id):
    file_id = submitted_application(browser, service_id)

    response = browser.post(f"/applications/{file_id}/messages", data={"text": "  "})

    assert response.status_code == 400 and 'id="message-error">ກະລຸນາຂຽນຂໍ້ຄວາມ' in response.text
