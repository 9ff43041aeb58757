"""The login page's QR panel for linked (wallet) sign-in: server-drawn SVG of a live link code, and the page's script
driving the spec's flow to the relying party in a real headless Chromium."""
import re

import httpx
import pytest
from playwright.sync_api import sync_playwright

from identity.link_codes import qr_svg
from .helpers import linked_request, redeem, register_client, start_authorize, wallet_post

WALLET_ACRS = ["idbb:acr:static-code", "idbb:acr:linked-wallet"]
CALLBACK = "https://rp.example.la/callback"


@pytest.fixture(scope="module")
def wallet_rp(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, authContextRefs=WALLET_ACRS)
    return {"client_id": client_id, "key": key}


def _panel_link_code(html: str) -> str:
    return re.search(r'id="qr-login" data-transaction-id="[^"]+" data-link-code="([^"]+)"', html).group(1)


def test_login_page_shows_the_qr_code_of_a_link_code_a_wallet_can_redeem(base_url, wallet_rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_rp["client_id"], ui_locales="en")
        link_code = _panel_link_code(page.text)

        linked = wallet_post(base_url, "link-transaction", linkCode=link_code)

    assert page.status_code == 200 and "<svg" in page.text
    assert qr_svg(link_code) in page.text  # the SVG is the QR code of exactly this link code
    assert "Scan this QR code with your digital wallet app" in page.text
    assert linked["errors"] == [] and linked["response"]["clientName"] == "ບໍລິການສຸຂະພາບ Health Service"


def test_qr_panel_is_in_lao_by_default(base_url, wallet_rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_rp["client_id"])

    assert "ສະແກນ QR ໂຄດນີ້ດ້ວຍແອັບກະເປົາດິຈິຕອນຂອງທ່ານ" in page.text


def test_no_qr_panel_for_a_client_without_a_linked_wallet_acr(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, rp["client_id"])

    assert page.status_code == 200 and 'id="qr-login"' not in page.text and "<svg" not in page.text


def test_a_fresh_qr_code_replaces_the_pages_link_code(base_url, wallet_rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_rp["client_id"])
        first = _panel_link_code(page.text)
        transaction_id = re.search(r'data-transaction-id="([^"]+)"', page.text).group(1)
        fresh = browser.post("/linked-authorization/qr-code", json=linked_request(transactionId=transaction_id),
                             headers={"X-XSRF-TOKEN": browser.cookies.get("XSRF-TOKEN")}).json()
        forged = browser.post("/linked-authorization/qr-code", json=linked_request(transactionId=transaction_id))

    assert fresh["errors"] == [] and fresh["response"]["qrCode"] == qr_svg(fresh["response"]["linkCode"])
    assert [e["errorCode"] for e in wallet_post(base_url, "link-transaction", linkCode=first)["errors"]] == ["invalid_link_code"]
    assert forged.status_code == 403


def test_the_pages_script_follows_the_wallet_to_the_relying_party_with_a_code(base_url, wallet_rp, person):
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        context = chromium.new_context()
        arrived = []
        # The relying party's callback cannot run here: catch the navigation to it instead.
        context.route(f"{CALLBACK}*", lambda route: (arrived.append(route.request.url), route.fulfill(status=200, body="rp")))
        page = context.new_page()
        page.goto(f"{base_url}/authorize?client_id={wallet_rp['client_id']}&redirect_uri={CALLBACK}&response_type=code"
                  "&scope=openid%20profile&state=qr-state&nonce=qr-nonce&ui_locales=en")
        link_code = page.get_attribute("#qr-login", "data-link-code")

        linked_id = wallet_post(base_url, "link-transaction", linkCode=link_code)["response"]["linkTransactionId"]
        page.wait_for_function("document.querySelector('.qr-status').textContent.includes('Connected')", timeout=15_000)
        wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"],
                    challengeList=[{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}])
        wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"])
        page.wait_for_url(f"{CALLBACK}*", timeout=15_000)
        context.close()
        chromium.close()

    query = dict(re.findall(r"[?&](code|state)=([^&]+)", arrived[0]))
    tokens = redeem(base_url, wallet_rp["client_id"], wallet_rp["key"], query["code"])
    assert query["state"] == "qr-state"
    assert tokens.status_code == 200, tokens.text
