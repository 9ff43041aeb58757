"""Social cash transfer enrolment in real headless Chromium, English UI, every service running for real: the citizen
consents to share data with the paying agency, the form's eligibility rules refuse a household above the income limit,
the corrected application is enrolled by the social worker and the programme officer from the operator console, the
citizen gets the email (real SMTP server) and the SMS (real HTTP SMS gateway), and the registry record exists. Then the
citizen withdraws the consent: a new submission of the same service is refused by the Registration BB and the portal
shows the consent step again. Screenshots go to artifacts/screenshots (journey-sct-*)."""
import uuid

from playwright.sync_api import expect
from sqlmodel import Session, select

from kernel.testing import wait_until

from registration.models import ApplicationFile, RegistryRecord
from .test_portal_journey import (PNG, browser, mailbox, operator_decides, phone, shot, sign_in_citizen,  # noqa: F401
                                  sign_in_operator, sms_gateway, suite, unique_lao_mobile)

SUITE_TAG = "sct_journey"
SCT_AGREEMENT = "05951437-1bbb-5fda-b6a8-8d09e374aeb7"  # the demo agreement of the SCT service's require_consent step
HOUSEHOLD = {"head_of_household": "Somchai Phommachanh", "id_number": "LA654321", "district": "Xaythany", "household_size": "5",
             "children_under_5": "2"}


def apply_for_cash_transfer(citizen, web_url: str) -> None:
    citizen.goto(f"{web_url}/services?lang=en")
    citizen.locator("section.service", has_text="Social cash transfer enrolment").locator("button").click()


def fill_household(citizen, *, income: str, typed_phone: str, email: str) -> None:
    for name, value in {**HOUSEHOLD, "monthly_income_lak": income, "phone": typed_phone, "email": email}.items():
        citizen.fill(f"#f-{name}", value)
    citizen.select_option("#f-province", "VTE")


def test_cash_transfer_enrolment_in_english_and_withdrawn_consent_blocks_the_next(suite, mailbox, sms_gateway, browser,  # noqa: F811
                                                                                    tmp_path):
    box, _ = mailbox
    sms, _ = sms_gateway
    recipient = f"household-{uuid.uuid4().hex[:8]}@example.la"
    typed_phone, phone_number = unique_lao_mobile()
    family_book = tmp_path / "family-book.png"
    family_book.write_bytes(PNG)
    citizen, operator = phone(browser), phone(browser)

    sign_in_citizen(citizen, suite.web_url)
    apply_for_cash_transfer(citizen, suite.web_url)
    expect(citizen.locator("html")).to_have_attribute("lang", "en")
    expect(citizen.locator("#agree")).to_be_visible()  # consent to share data with the paying agency comes first
    shot(citizen, "sct-01-consent")
    citizen.check("#agree")
    citizen.click("#give-consent")

    expect(citizen.locator("#s-eligibility legend")).to_have_text("Eligibility")  # the form's sections, titled in English
    fill_household(citizen, income="2500000", typed_phone=typed_phone, email=recipient)
    citizen.click("#review")
    expect(citizen.locator("body")).to_contain_text("Not eligible: Households with a monthly income of at most 1 500 000 LAK")
    shot(citizen, "sct-02-not-eligible")
    citizen.set_input_files("#d-family_book", str(family_book))  # the answers so far were saved with the review attempt
    citizen.locator("#upload-family_book button").click()
    expect(citizen.locator('[data-slot="family_book"] .file-name')).to_have_text("family-book.png")
    citizen.fill("#f-monthly_income_lak", "900000")
    citizen.click("#review")
    citizen.wait_for_url("**/review")
    expect(citizen.locator("dl.summary")).to_contain_text("Vientiane Capital")  # the province by its English name, not "VTE"
    shot(citizen, "sct-03-review")
    citizen.check("#confirm")
    citizen.click("#submit")
    citizen.wait_for_url("**/applications/*")
    file_id = citizen.url.split("/applications/")[1].split("?")[0]
    shot(citizen, "sct-04-submitted")

    sign_in_operator(operator, suite.web_url)
    operator.goto(f"{suite.web_url}/operator?role=social_worker&lang=en")
    operator.click(f'a.task[data-file="{file_id}"]')
    expect(operator.locator('[data-field="monthly_income_lak"]')).to_have_text("900000")
    expect(operator.locator('[data-field="province"]')).to_have_text("Vientiane Capital")
    expect(operator.locator('[data-field="pregnant_member"]')).to_have_text("No")
    shot(operator, "sct-05-social-worker")
    operator_decides(operator, suite.web_url, file_id, "approve", "Household visited, eligible", role="social_worker")
    operator_decides(operator, suite.web_url, file_id, "approve", "Enrolled in the programme", role="programme_officer")

    mails = wait_until_enrolment_notified(box, sms, recipient, phone_number)
    assert "approved" in mails[0].get_content()
    citizen.goto(f"{suite.web_url}/applications/{file_id}")
    expect(citizen.locator("#status")).to_have_text("Approved")
    number = citizen.locator("#registration-number").inner_text()
    shot(citizen, "sct-06-enrolled")
    with Session(suite.registration_engine) as session:
        record = session.exec(select(RegistryRecord).where(RegistryRecord.file_id == file_id)).one()
    assert record.registration_number == number and number.startswith("SCT-")
    assert record.data["monthly_income_lak"] == 900000

    # A second application, drafted while the consent holds; the consent is then withdrawn in "my consents".
    apply_for_cash_transfer(citizen, suite.web_url)
    citizen.wait_for_url("**/drafts/*")
    draft_id = citizen.url.split("/drafts/")[1].split("?")[0]
    fill_household(citizen, income="800000", typed_phone=typed_phone, email=recipient)
    citizen.click("#save-draft")
    citizen.wait_for_url("**?saved=1")
    citizen.click("#my-consents")
    citizen.locator(f'[data-agreement-id="{SCT_AGREEMENT}"]').locator("a.withdraw").click()
    citizen.click("#confirm-withdraw")
    citizen.wait_for_url("**/consents?withdrawn=1")
    expect(citizen.locator(f'[data-agreement-id="{SCT_AGREEMENT}"] .status')).to_have_text("Withdrawn")
    shot(citizen, "sct-07-consent-withdrawn")

    citizen.goto(f"{suite.web_url}/drafts/{draft_id}/review")
    citizen.check("#confirm")
    citizen.click("#submit")
    citizen.wait_for_url(f"**/drafts/{draft_id}?consent_missing=1")
    expect(citizen.locator("#agree")).to_be_visible()  # the portal asks for the consent again
    shot(citizen, "sct-08-consent-asked-again")

    refused = suite.registration_call("POST", f"drafts/{draft_id}/submit", json={"confirm": True})
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    with Session(suite.registration_engine) as session:
        assert session.get(ApplicationFile, draft_id).status == "DRAFT"


def wait_until_enrolment_notified(box, sms, recipient: str, phone_number: str) -> list:
    """The approval reaches the citizen by email and by SMS, in English."""
    mails = wait_until(lambda: [m for m in box.to(recipient) if m["Subject"].startswith("Decision on application")], timeout=30,
                       message="the enrolment email")
    wait_until(lambda: [text for text in sms.to(phone_number) if "has been approved" in text], timeout=30, message="the enrolment SMS")
    return mails

