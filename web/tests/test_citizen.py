import re

import pytest

from .helpers import (PNG, VALID_ENTERPRISE, enterprise_service_id, new_draft, signed_in_browser,
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
    assert 'name="file.owner_id_card"' in response.text


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


def test_a_submitted_draft_leads_to_its_application_on_back_refresh_or_a_second_submit(browser, service_id):
    file_id = submitted_application(browser, service_id)

    wizard = browser.get(f"/drafts/{file_id}")
    review = browser.get(f"/drafts/{file_id}/review")
    again = browser.post(f"/drafts/{file_id}/submit", data={"confirm": "yes"})
    listing = browser.get("/applications")

    assert [r.status_code for r in (wizard, review, again)] == [303, 303, 303]
    assert {r.headers["location"] for r in (wizard, review, again)} == {f"/applications/{file_id}"}
    assert listing.text.count(f'data-file-id="{file_id}"') == 1  # submitted once


def test_another_citizens_submitted_draft_is_not_found(browser, service_id, base_url, identity_url):
    file_id = submitted_application(browser, service_id)
    other = signed_in_browser(base_url, new_person_at=identity_url)

    assert other.get(f"/drafts/{file_id}").status_code == 404
    assert other.post(f"/drafts/{file_id}/submit", data={"confirm": "yes"}).status_code == 404



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


def document_slot(page: str, slot: str) -> str:
    start = page.index(f'id="upload-{slot}"')
    return page[start:page.index("</div>", start)]


def test_upload_saves_the_answers_posted_with_it(browser, service_id):
    draft_id = new_draft(browser, service_id)

    uploaded = browser.post(f"/drafts/{draft_id}/documents", data={"company_name_en": "Typed Before Upload Co", "document_type": "owner_id_card"},
                            files={"file.owner_id_card": ("id.png", PNG, "image/png")})
    page = browser.get(uploaded.headers["location"]).text

    assert uploaded.status_code == 303 and uploaded.headers["location"].endswith("?uploaded=1")
    assert 'value="Typed Before Upload Co"' in page and "ອັບໂຫຼດເອກະສານ ແລະ ບັນທຶກຂໍ້ມູນແລ້ວ" in page
    assert '<span class="file-name">id.png</span>' in document_slot(page, "owner_id_card")


def test_a_second_file_in_a_slot_replaces_the_first(browser, service_id):
    draft_id = new_draft(browser, service_id)
    for name in ("wrong.png", "right.png"):
        browser.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"}, files={"file.owner_id_card": (name, PNG, "image/png")})

    page = browser.get(f"/drafts/{draft_id}").text
    review = browser.get(f"/drafts/{draft_id}/review").text

    slot = document_slot(page, "owner_id_card")
    assert "right.png" in slot and "wrong.png" not in slot and 'id="documents-count">ອັບໂຫຼດແລ້ວ: 1<' in page
    assert "<dd>1</dd>" in review  # only the replacement reaches the officer


def test_an_uploaded_document_can_be_removed_keeping_the_answers(browser, service_id):
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"}, files={"file.owner_id_card": ("id.png", PNG, "image/png")})
    url = re.search(r'name="remove" value="([^"]+)"', browser.get(f"/drafts/{draft_id}").text).group(1)

    removed = browser.post(f"/drafts/{draft_id}/documents/remove", data={"remove": url, "owner_name": "ສົມພອນ ພົນເມືອງ"})
    page = browser.get(removed.headers["location"]).text

    assert removed.status_code == 303 and "ລຶບເອກະສານອອກແລ້ວ" in page
    assert "uploaded-file" not in page and 'value="ສົມພອນ ພົນເມືອງ"' in page


def test_removing_a_document_the_draft_does_not_have_is_not_found(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}/documents/remove", data={"remove": "https://elsewhere.example/documents/1"})

    assert response.status_code == 404 and "ບໍ່ພົບໜ້ານີ້" in response.text


def test_upload_button_without_a_file_says_so_and_keeps_the_answers(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}/documents", data={"company_name_en": "No File Co", "document_type": "premises_lease"},
                            files={"file.premises_lease": ("", b"", "application/octet-stream")})

    assert response.status_code == 400
    assert "ກະລຸນາເລືອກໄຟລ໌ກ່ອນ" in document_slot(response.text, "premises_lease")
    assert 'value="No File Co"' in browser.get(f"/drafts/{draft_id}").text


def sent_back(browser, service_id, registration_api) -> str:
    file_id = submitted_application(browser, service_id)
    task = registration_api("GET", "tasks", roles=["enterprise_reviewer"], params={"fileId": file_id}).json()[0]
    task_id = task.get("taskId", task.get("id"))
    assert registration_api("POST", f"tasks/{task_id}/claim", roles=["enterprise_reviewer"]).status_code == 200
    decided = registration_api("POST", f"tasks/{task_id}/complete", roles=["enterprise_reviewer"],
                               json={"data": {"decision": "send_back", "reason": "Capital is unclear",
                                              "fieldsToFix": [{"field": "registered_capital_lak", "reason": "Not the amount on the deed"}]}})
    assert decided.status_code == 200, decided.text
    return file_id


def test_a_message_sent_while_correcting_keeps_the_corrections_typed(browser, service_id, registration_api):
    file_id = sent_back(browser, service_id, registration_api)

    sent = browser.post(f"/applications/{file_id}/messages", data={**VALID_ENTERPRISE, "registered_capital_lak": "75000000",
                                                                   "text": "Which deed do you mean?"})
    page = browser.get(sent.headers["location"]).text

    assert sent.status_code == 303 and "ສົ່ງຂໍ້ຄວາມແລ້ວ" in page and "Which deed do you mean?" in page
    assert 'name="registered_capital_lak" type="number" step="1" inputmode="numeric" value="75000000"' in page
    assert '<textarea id="message-text" name="text" rows="3" maxlength="4000"></textarea>' in page  # the message went out


def test_resubmitting_also_sends_the_message_typed_with_it(browser, service_id, registration_api):
    file_id = sent_back(browser, service_id, registration_api)

    resubmitted = browser.post(f"/applications/{file_id}/resubmit", data={**VALID_ENTERPRISE, "text": "Corrected from the deed"})
    page = browser.get(f"/applications/{file_id}").text

    assert resubmitted.status_code == 303 and "Corrected from the deed" in page


def test_sent_back_form_and_message_box_are_one_form(browser, service_id, registration_api):
    file_id = sent_back(browser, service_id, registration_api)

    page = browser.get(f"/applications/{file_id}").text

    form = page[page.index('id="correction-form"'):page.index("</form>", page.index('id="correction-form"'))]
    assert 'name="registered_capital_lak"' in form and 'name="text"' in form
    assert f'formaction="/applications/{file_id}/messages"' in form
    assert form.index('id="resubmit"') < form.index('id="send-message"')  # Enter in a field still resubmits


def test_an_email_that_cannot_be_delivered_to_is_refused_before_review(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "owner_email": "not-an-email", "action": "review"})

    assert response.status_code == 400
    assert 'id="e-owner_email">ກະລຸນາປ້ອນອີເມວໃຫ້ຖືກຕ້ອງ ເຊັ່ນ name@example.com' in response.text


def test_an_undeliverable_email_is_refused_at_submission_in_english(base_url, service_id):
    english = signed_in_browser(base_url, lang="en")
    draft_id = new_draft(english, service_id)
    english.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "owner_email": "owner@example", "action": "save"})

    response = english.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})

    assert response.status_code == 400
    assert 'id="e-owner_email">Please enter a valid email address, such as name@example.com' in response.text


def test_vientiane_capital_offers_its_districts_in_lao(browser, service_id):
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}", data={"province": "VTE", "action": "save"})

    page = browser.get(f"/drafts/{draft_id}").text

    district = page[page.index('id="f-district"'):page.index("</select>", page.index('id="f-district"'))]
    assert '<option value="Chanthabouly">ຈັນທະບູລີ</option>' in district and district.count("<option value=") == 10  # 9 and "choose"


def test_a_province_without_a_list_takes_the_district_as_typed(browser, service_id):
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}", data={"province": "CPS", "district": "Pakse", "action": "save"})

    page = browser.get(f"/drafts/{draft_id}").text

    assert '<input id="f-district" name="district" type="text" value="Pakse" aria-required="true">' in page


def test_a_district_typed_in_lao_is_stored_as_the_value_the_form_accepts(browser, service_id):
    draft_id = new_draft(browser, service_id)

    reviewed = browser.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "district": "ຈັນທະບູລີ", "action": "review"})
    draft = browser.get(f"/drafts/{draft_id}").text
    review = browser.get(f"/drafts/{draft_id}/review").text

    assert reviewed.status_code == 303 and reviewed.headers["location"].endswith("/review")
    assert '<option value="Chanthabouly" selected>ຈັນທະບູລີ</option>' in draft
    assert "<dd>ຈັນທະບູລີ</dd>" in review


def test_a_district_not_in_the_list_shows_the_list(browser, service_id):
    draft_id = new_draft(browser, service_id)

    response = browser.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "district": "Pakse", "action": "review"})

    assert response.status_code == 400
    assert 'id="e-district">ກະລຸນາເລືອກຈາກລາຍການ' in response.text
    assert '<option value="Sisattanak">ສີສັດຕະນາກ</option>' in response.text
