"""Citizen journeys in a real headless Chromium (Debian's) on a phone-sized screen: enterprise registration in Lao
(consent, form, document, submit), and cash transfer enrolment in English (consent, eligibility rules, my consents,
withdraw)."""
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .helpers import DEMO_PIN, PNG, VALID_ENTERPRISE, new_person

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, uin: str) -> None:
    page.fill("#individual_id", uin)
    page.fill("#pin", DEMO_PIN)


def test_citizen_registers_an_enterprise_in_lao(page, base_url, identity_url, tmp_path):
    id_card = tmp_path / "id-card.png"
    id_card.write_bytes(PNG)
    uin = new_person(identity_url[1])  # a citizen who has not consented to anything yet

    page.goto(base_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "lo")
    expect(page.locator("section.service", has_text="ການຈົດທະບຽນວິສາຫະກິດ")).to_be_visible()  # the catalogue, before sign-in
    shot(page, "01-home-lao")

    page.click("#sign-in")
    page.fill("#individual_id", uin)
    page.fill("#pin", DEMO_PIN)
    shot(page, "02-identity-sign-in")
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/services")
    enterprise = page.locator("section.service", has_text="ການຈົດທະບຽນວິສາຫະກິດ")
    expect(enterprise).to_be_visible()
    shot(page, "03-services")

    enterprise.locator("button").click()
    page.wait_for_url("**/drafts/*")
    expect(page.locator("#agreement-purpose")).to_contain_text("ລົງທະບຽນວິສາຫະກິດ")
    shot(page, "03b-consent-lao")
    page.check("#agree")
    page.click("#give-consent")
    expect(page.locator("#f-company_name_lo")).to_be_visible()
    expect(page.locator("input#f-district")).to_be_visible()  # no province yet: the district is typed
    for name, value in VALID_ENTERPRISE.items():
        if name in ("activity", "province", "district"):  # Vientiane Capital chosen: its districts become a list
            page.select_option(f"#f-{name}", value)
        else:
            page.fill(f"#f-{name}", value)
    expect(page.locator("#f-district option:checked")).to_have_text("ຈັນທະບູລີ")
    shot(page, "04-form-filled")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone's screen

    page.click("#review")
    expect(page.locator("dl.summary")).to_contain_text("ຈັນທະບູລີ")
    page.check("#confirm")
    shot(page, "05-review")
    page.click("#submit")
    expect(page.locator("#upload-owner_id_card p.error")).to_be_visible()  # the ID card is still missing
    shot(page, "06-document-required")

    page.set_input_files("#d-owner_id_card", str(id_card))
    page.locator("#upload-owner_id_card button.upload-document").click()
    expect(page.locator("#documents-count")).to_be_visible()
    page.click("#review")
    page.check("#confirm")
    page.click("#submit")
    page.wait_for_url("**/applications/*")
    expect(page.locator("#status")).to_have_text("ລໍຖ້າພິຈາລະນາ")
    shot(page, "07-submitted")

    page.goto(base_url + "/applications")
    expect(page.locator("a.application", has_text="ການຈົດທະບຽນວິສາຫະກິດ").first).to_be_visible()
    shot(page, "08-my-applications")

    page.click("#my-consents")
    expect(page.locator("section.consent", has_text="ລົງທະບຽນວິສາຫະກິດ").locator(".status")).to_have_text("ມີຜົນ")
    shot(page, "09-my-consents-lao")


def test_citizen_enrols_for_cash_transfer_in_english_and_withdraws_consent(page, base_url, identity_url):
    """Consent, the form's eligibility rule, submission, then my consents and withdrawal, all in English."""
    uin = new_person(identity_url[1])

    page.goto(base_url + "/?lang=en")
    cash_transfer = page.locator("section.service", has_text="Social cash transfer enrolment")
    expect(cash_transfer).to_be_visible()
    cash_transfer.locator("a.button").click()
    sign_in(page, uin)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/services")
    page.locator("section.service", has_text="Social cash transfer enrolment").locator("button").click()
    page.wait_for_url("**/drafts/*")

    expect(page.locator("#agreement-purpose")).to_have_text("Share your data with the paying agency so it can pay your cash transfer")
    page.click("#give-consent")  # without the tick
    expect(page.locator("#consent-error")).to_have_text("Please tick that you agree before continuing")
    shot(page, "11-consent-en")
    page.check("#agree")
    page.click("#give-consent")

    expect(page.locator("label[for=f-monthly_income_lak]")).to_contain_text("Monthly household income (LAK)")
    for name, value in {"head_of_household": "Bounmy Phommachanh", "id_number": "LA-778899", "district": "Xieng Ngeun",
                        "household_size": "5", "monthly_income_lak": "900000", "children_under_5": "0"}.items():
        page.fill(f"#f-{name}", value)
    page.select_option("#f-province", "LPB")
    page.click("#review")
    expect(page.locator("#e-children_under_5")).to_have_text("Must be at least 1")  # eligibility: no child, nobody pregnant
    shot(page, "12-eligibility-en")
    page.check("#f-pregnant_member")
    page.click("#review")
    page.wait_for_url("**/review")
    expect(page.locator("#confirm")).to_be_visible()
    shot(page, "13-review-en")
    page.check("#confirm")
    page.click("#submit")
    page.wait_for_url("**/applications/*")
    expect(page.locator("#status")).to_have_text("Pending review")
    shot(page, "13b-submitted-en")

    page.click("#my-consents")
    consent = page.locator("section.consent", has_text="paying agency")
    expect(consent.locator(".status")).to_have_text("Active")
    shot(page, "14-my-consents-en")
    consent.locator("a.withdraw").click()
    expect(page.locator("#confirm-withdraw")).to_be_visible()
    shot(page, "15-withdraw-confirm-en")
    page.click("#confirm-withdraw")
    page.wait_for_url("**/consents?withdrawn=1")
    expect(page.locator("section.consent", has_text="paying agency").locator(".status")).to_have_text("Withdrawn")
    shot(page, "16-withdrawn-en")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone's screen


def test_typing_survives_uploads_removal_and_an_ended_session(page, base_url, identity_url, tmp_path):
    """The upload and remove buttons post the typed answers with them; a save after the session ended signs in again and
    shows what was typed."""
    id_card = tmp_path / "wrong-card.png"
    id_card.write_bytes(PNG)
    uin = new_person(identity_url[1])
    page.goto(base_url + "/auth/login")
    sign_in(page, uin)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/services")
    page.locator("section.service", has_text="ການຈົດທະບຽນວິສາຫະກິດ").locator("button").click()
    page.check("#agree")
    page.click("#give-consent")

    page.fill("#f-company_name_lo", "ບໍລິສັດ ທົດສອບ")
    page.set_input_files("#d-owner_id_card", str(id_card))
    page.locator("#upload-owner_id_card button.upload-document").click()
    expect(page.locator("#upload-owner_id_card .file-name")).to_have_text("wrong-card.png")
    expect(page.locator("#f-company_name_lo")).to_have_value("ບໍລິສັດ ທົດສອບ")
    shot(page, "17-uploaded-answers-kept")

    page.fill("#f-owner_name", "ສົມພອນ")
    page.locator("#upload-owner_id_card button.remove-document").click()
    expect(page.locator("#upload-owner_id_card .uploaded-file")).to_have_count(0)
    expect(page.locator("#f-owner_name")).to_have_value("ສົມພອນ")

    page.context.clear_cookies(name="web_session")  # the session's lifetime passed: the browser drops its cookie
    page.fill("#f-company_name_en", "Typed While Signed Out")
    page.click("#save-draft")
    sign_in(page, uin)
    page.click("button[type=submit]")
    page.wait_for_url("**/drafts/*")
    expect(page.locator("#f-company_name_en")).to_have_value("Typed While Signed Out")
    expect(page.locator("#f-owner_name")).to_have_value("ສົມພອນ")
    expect(page.locator("p.notice")).to_contain_text("ທ່ານໄດ້ອອກຈາກລະບົບອັດຕະໂນມັດ")
    shot(page, "18-work-restored-after-sign-in")
