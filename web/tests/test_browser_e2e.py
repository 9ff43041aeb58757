"""One citizen journey in a real headless Chromium (Debian's), Lao UI: sign in, fill the enterprise form, submit, find it."""
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .helpers import DEMO_PIN, PNG, VALID_ENTERPRISE
from identity.fixtures import DEMO_CITIZEN_UIN

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


def test_citizen_registers_an_enterprise_in_lao(page, base_url, tmp_path):
    id_card = tmp_path / "id-card.png"
    id_card.write_bytes(PNG)

    page.goto(base_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "lo")
    shot(page, "01-home-lao")

    page.click("#sign-in")
    page.fill("#individual_id", DEMO_CITIZEN_UIN)
    page.fill("#pin", DEMO_PIN)
    shot(page, "02-identity-sign-in")
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/services")
    enterprise = page.locator("section.service", has_text="ການຈົດທະບຽນວິສາຫະກິດ")
    expect(enterprise).to_be_visible()
    shot(page, "03-services")

    enterprise.locator("button").click()
    page.wait_for_url("**/drafts/*")
    for name, value in VALID_ENTERPRISE.items():
        if name in ("activity", "province"):
            page.select_option(f"#f-{name}", value)
        else:
            page.fill(f"#f-{name}", value)
    shot(page, "04-form-filled")

    page.click("#review")
    page.check("#confirm")
    shot(page, "05-review")
    page.click("#submit")
    expect(page.locator("input[name=document_type][value=owner_id_card]")).to_be_attached()  # the ID card is still missing
    shot(page, "06-document-required")

    page.set_input_files("#d-owner_id_card", str(id_card))
    page.locator("form.upload button").click()
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
