"""An auditor in a real headless Chromium (Debian's): signs in through the staff sign-in, lands on the audit console, finds an
application by its number and reads its audit trail in Lao and English, then the portal's exchanges at the gateway, the
gateway's own audit log, and a data agreement's history and chain check at the Consent BB. Screenshots go to
artifacts/screenshots."""
import re

import pytest
from playwright.sync_api import expect

from identity.fixtures import DEMO_STAFF
from .helpers import signed_in_browser
from .staff_helpers import operator_test_service, signed_in_staff, submitted
from .test_browser_e2e import page, shot  # noqa: F401  (the page fixture: a phone-sized Chromium page)


@pytest.fixture(scope="module")
def sent_back_application(base_url, registration_api) -> str:
    file_id = submitted(signed_in_browser(base_url), operator_test_service(registration_api))
    operator = signed_in_staff(base_url, "operator")
    task_id = re.search(rf'href="/operator/tasks/([^"]+)" data-file="{file_id}"', operator.get("/operator").text).group(1)
    assert operator.post(f"/operator/tasks/{task_id}/decide", data={"decision": "send_back", "reason": "ຊື່ບໍ່ກົງກັບບັດ"}).status_code == 303
    return file_id


def test_auditor_finds_an_application_and_reads_its_trail_and_the_exchanges(page, base_url, sent_back_application):  # noqa: F811
    page.goto(f"{base_url}/staff/sign-in")  # no next page: staff land on the console, which sends an auditor to the audit
    page.fill("#username", "auditor")
    page.fill("#password", DEMO_STAFF["auditor"][0])
    page.click("#staff-sign-in")
    page.wait_for_url(f"{base_url}/audit")
    expect(page.locator("h1")).to_have_text("ການກວດສອບ")
    shot(page, "auditor-01-find")

    page.fill("#file-id", sent_back_application)
    page.click("#show-trail")
    page.wait_for_url(f"**/audit/applications/{sent_back_application}")
    rows = page.locator("tr.audit-entry")
    expect(rows.last).to_contain_text("ຊື່ບໍ່ກົງກັບບັດ")
    expect(rows.last).to_contain_text("ສົ່ງກັບຄືນໃຫ້ແກ້ໄຂ")
    shot(page, "auditor-02-trail-lao")

    page.click("#switch-language")
    expect(page.locator("h1")).to_contain_text("Audit trail of application")
    expect(page.locator("tr.audit-entry[data-action=submitted]")).to_contain_text("Submitted")
    shot(page, "auditor-03-trail-english")

    page.click("#nav-audit-exchanges")
    page.select_option("#bb-name", "registration")
    page.click("#filter-exchanges")
    expect(page.locator("tr.exchange", has_text=f"/applications/{sent_back_application}/audit").first).to_be_visible()
    shot(page, "auditor-04-exchanges")

    page.click("#nav-audit-gateway")
    expect(page.locator("tr.gateway-audit-entry", has_text="merge config").first).to_be_visible()
    shot(page, "auditor-05-gateway-audit")

    page.click("#nav-audit-agreements")
    page.locator("tr.data-agreement a").first.click()
    expect(page.locator("#chain-check")).to_have_attribute("data-valid", "true")
    expect(page.locator("tr.revision").first).to_be_visible()
    shot(page, "auditor-06-data-agreement")

    page.click("#agreement-records")
    expect(page.locator("#consent-records")).to_be_visible()
