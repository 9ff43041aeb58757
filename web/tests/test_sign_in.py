from urllib.parse import parse_qs, urlsplit

import httpx

from web.routes.auth import _safe_next
from .helpers import signed_in_browser


def test_sign_in_sends_the_browser_to_identity_with_pkce_s256(base_url, identity_url):
    with httpx.Client(base_url=base_url) as browser:
        response = browser.get("/auth/login")

    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert response.status_code == 303
    assert f"{target.scheme}://{target.netloc}" == identity_url[0] and target.path == "/authorize"
    assert query["client_id"] == ["govstack-portal"] and query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43 and query["state"][0] and query["nonce"][0]
    assert query["ui_locales"] == ["lo"]


def test_session_cookie_is_http_only_and_same_site_lax(base_url):
    response = httpx.get(f"{base_url}/auth/login")

    cookie = response.headers["set-cookie"].lower()
    assert "web_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_citizen_signs_in_and_sees_the_published_services(base_url):
    browser = signed_in_browser(base_url)

    page = browser.get("/services")

    assert page.status_code == 200
    assert "ການຈົດທະບຽນວິສາຫະກິດ" in page.text  # the demo enterprise registration, named in Lao


def test_callback_with_a_wrong_state_signs_nobody_in(base_url):
    with httpx.Client(base_url=base_url) as browser:
        browser.get("/auth/login")
        response = browser.get("/auth/callback", params={"code": "forged", "state": "not-the-one"})
        services = browser.get("/services", follow_redirects=False)

    assert response.status_code == 400
    assert services.status_code == 303 and services.headers["location"].startswith("/auth/login")


def test_pages_need_a_signed_in_citizen(base_url):
    response = httpx.get(f"{base_url}/applications")

    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?next=/applications"


def test_sign_in_returns_only_to_local_pages():
    assert _safe_next("/applications") == "/applications"
    assert _safe_next("https://evil.example/") == "/services"
    assert _safe_next("//evil.example/") == "/services"


def test_sign_out_ends_the_session(base_url):
    browser = signed_in_browser(base_url)

    browser.post("/auth/logout")

    assert browser.get("/services").status_code == 303
