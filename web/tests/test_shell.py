import re

import httpx

from .helpers import enterprise_service_id, new_draft, signed_in_browser
from .staff_helpers import signed_in_staff


def test_pages_are_in_lao_by_default(base_url):
    page = httpx.get(f"{base_url}/")

    assert page.status_code == 200
    assert '<html lang="lo">' in page.text
    assert "ເຂົ້າສູ່ລະບົບ" in page.text


def test_english_is_one_click_away_and_sticks(base_url):
    with httpx.Client(base_url=base_url) as browser:
        switched = browser.get("/?lang=en")
        later = browser.get("/")

    assert '<html lang="en">' in switched.text and "Sign in" in switched.text
    assert switched.cookies.get("lang") == "en"
    assert '<html lang="en">' in later.text


def test_unknown_language_falls_back_to_lao(base_url):
    assert '<html lang="lo">' in httpx.get(f"{base_url}/?lang=fr").text


def test_language_switch_link_keeps_the_page(base_url):
    page = httpx.get(f"{base_url}/?lang=en")

    assert 'href="/?lang=lo"' in page.text


def test_every_catalogue_has_the_same_keys():
    from web.i18n import CATALOGS

    assert set(CATALOGS["lo"]) == set(CATALOGS["en"])


def test_lao_font_is_served_with_its_licence(base_url):
    css = httpx.get(f"{base_url}/static/portal.css").text
    font = httpx.get(f"{base_url}/static/fonts/NotoSansLao-Regular.ttf")
    licence = httpx.get(f"{base_url}/static/fonts/OFL.txt")

    assert '@font-face' in css and "NotoSansLao-Regular.ttf" in css and "NotoSansLao-Bold.ttf" in css
    assert font.status_code == 200 and font.content[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    assert "SIL OPEN FONT LICENSE" in licence.text.upper()


def test_layout_is_usable_on_a_phone(base_url):
    page = httpx.get(f"{base_url}/").text
    css = httpx.get(f"{base_url}/static/portal.css").text

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (max-width: 600px)" in css and "grid-template-columns: 1fr" in css


def test_an_unknown_address_is_the_localised_not_found_page(base_url):
    lao = httpx.get(f"{base_url}/no-such-page")
    english = httpx.get(f"{base_url}/no-such-page?lang=en")

    assert lao.status_code == 404 and "text/html" in lao.headers["content-type"] and "ບໍ່ພົບໜ້ານີ້" in lao.text
    assert english.status_code == 404 and "This page does not exist" in english.text


def test_a_get_of_a_post_only_address_is_a_page_not_json(base_url):
    signed_in = signed_in_browser(base_url)

    response = signed_in.get("/drafts/00000000-0000-0000-0000-000000000000/submit")

    assert response.status_code == 405 and "ບໍ່ພົບໜ້ານີ້" in response.text and '"code"' not in response.text


def test_language_switch_on_a_page_answering_a_post_leads_to_its_get_page(base_url, registration_url, identity_url):
    browser = signed_in_browser(base_url, new_person_at=identity_url)  # who has not consented to the service's agreement yet
    draft_id = new_draft(browser, enterprise_service_id(registration_url), consent=False)

    refused = browser.post(f"/drafts/{draft_id}/consent", data={})  # no tick: the consent page again, answering the post
    switched = browser.get(re.search(r'href="([^"]+)" id="switch-language"', refused.text).group(1))

    assert refused.status_code == 400 and f'href="/drafts/{draft_id}?lang=en" id="switch-language"' in refused.text
    assert switched.status_code == 200 and '<html lang="en">' in switched.text and 'id="give-consent"' in switched.text


def test_language_switch_on_the_designers_refused_document_leads_to_the_editor(base_url):
    designer = signed_in_staff(base_url, "designer")

    refused = designer.post("/designer/new", data={"document": "code: [unclosed"})

    assert refused.status_code == 400 and 'href="/designer/new?lang=en" id="switch-language"' in refused.text
    assert designer.get("/designer/new?lang=en").status_code == 200
