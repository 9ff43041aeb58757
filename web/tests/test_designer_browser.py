"""A designer in a real headless Chromium (Debian's): sign in as staff, write a new e-service with live validation,
preview it as a citizen, publish it. Screenshots go to artifacts/screenshots."""
import uuid

import yaml
from playwright.sync_api import expect

from web.routes.designer import STARTER
from .staff_helpers import staff_sign_in
from .test_browser_e2e import page, shot  # noqa: F401  (the page fixture: a phone-sized Chromium page)


def test_designer_writes_previews_and_publishes_a_service(page, base_url, registration_url):  # noqa: F811
    code = "B" + uuid.uuid4().hex[:7].upper()
    document = yaml.safe_load(STARTER)
    document["code"] = code

    staff_sign_in(page, base_url, "designer", "/designer")
    expect(page.locator("a.design[data-code=LER]")).to_be_visible()
    shot(page, "designer-01-services")

    page.click("#new-service")
    document["name"] = {"en": "Boat licence"}  # the Lao name is missing: live validation says so
    page.fill("#document", yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    expect(page.locator("#validation")).to_contain_text("name.lo")
    shot(page, "designer-02-live-validation")

    document["name"] = {"en": "Boat licence", "lo": "ໃບອະນຸຍາດເຮືອ"}
    page.fill("#document", yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    expect(page.locator("#validation .valid")).to_be_visible()
    page.click("#save")
    page.wait_for_url("**/designer/services/*?saved=1")
    expect(page.locator("#published-version")).not_to_have_text("1")
    shot(page, "designer-03-saved")

    page.click("#preview")
    expect(page.locator("#f-full_name")).to_be_visible()
    expect(page.locator("h1")).to_have_text("ໃບອະນຸຍາດເຮືອ")
    shot(page, "designer-04-preview")

    page.go_back()
    page.click("#publish")
    page.wait_for_url("**?published=1")
    expect(page.locator("#published-version")).to_have_text("1")
    shot(page, "designer-05-published")

    page.goto(f"{base_url}/designer/services/{page.url.split('/designer/services/')[1].split('?')[0]}/preview?lang=en")
    expect(page.locator("h1")).to_have_text("Boat licence")
