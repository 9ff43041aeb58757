import httpx


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
