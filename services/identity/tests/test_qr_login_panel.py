"""The login page's QR panel for linked (wallet) sign-in: server-drawn SVG of a live link code, and the page's script
driving the spec's flow to the relying party in a real headless Chromium."""
import re

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import sync_playwright

from identity.link_codes import qr_svg
from .helpers import (PARTNER_KEY, linked_request, new_key, redeem, register_client, request_time, start_authorize, wallet_post,
                      wla_challenge)

WALLET_ACRS = ["idbb:acr:static-code", "idbb:acr:linked-wallet"]
WALLET_ONLY = "idbb:acr:linked-wallet"
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


def _transaction_id(html: str) -> str:
    return re.search(r'id="qr-login" data-transaction-id="([^"]+)"', html).group(1)


def _bound_wallet(base_url, binding_token, partner_id, person):
    """A wallet key bound to the person for WLA (the wallet backend's /wallet-binding call); returns (key, walletUserId)."""
    key = new_key()
    request = {"individualId": person["uin"], "authFactorType": "WLA", "format": "jwt", "publicKey": key.as_dict(private=False),
               "challengeList": [{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}]}
    response = httpx.post(f"{base_url}/wallet-binding", json={"requestTime": request_time(), "request": request},
                          headers={"Authorization": f"Bearer {binding_token}", "PARTNER-ID": partner_id, "PARTNER-API-KEY": PARTNER_KEY})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    return key, response.json()["response"]["walletUserId"]


@pytest.fixture(scope="module")
def wallet_only_rp(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, authContextRefs=[WALLET_ONLY])
    return {"client_id": client_id, "key": key}


def test_a_wallet_only_client_gets_the_qr_panel_alone_and_its_user_signs_in_with_the_wallet(
        base_url, settings, binding_token, partner_id, person, wallet_only_rp):
    key, wallet_user_id = _bound_wallet(base_url, binding_token, partner_id, person)
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_only_rp["client_id"], ui_locales="en", state="wallet-state")
        link_code, transaction_id = _panel_link_code(page.text), _transaction_id(page.text)
        pin_login = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"],
                                                           "pin": person["pin"]})
        linked = wallet_post(base_url, "link-transaction", linkCode=link_code)["response"]
        linked_id = linked["linkTransactionId"]
        wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=[
            {"authFactorType": "WLA", "challenge": wla_challenge(key, wallet_user_id, settings.issuer, linked_id), "format": "jwt"}])
        wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"])
        answer = browser.post("/linked-authorization/link-auth-code", json=linked_request(transactionId=transaction_id, linkedCode=link_code),
                              headers={"X-XSRF-TOKEN": browser.cookies.get("XSRF-TOKEN")}).json()
    tokens = redeem(base_url, wallet_only_rp["client_id"], wallet_only_rp["key"], answer["response"]["code"])
    jwks = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())

    assert page.status_code == 200 and 'data-error' not in page.text
    assert "<h2>Sign in with your wallet app</h2>" in page.text and qr_svg(link_code) in page.text
    assert 'name="pin"' not in page.text and 'name="individual_id"' not in page.text  # no PIN or OTP form to fall back on
    assert 'data-error="invalid_acr"' in pin_login.text  # nor can one be posted: the client asked for a wallet
    assert linked["authFactors"] == [[{"type": "Wallet"}]]
    assert answer["errors"] == [] and answer["response"]["state"] == "wallet-state"
    assert tokens.status_code == 200, tokens.text
    assert jwt.decode(tokens.json()["id_token"], jwks, algorithms=["RS256"]).claims["acr"] == WALLET_ONLY


def test_the_wallet_only_page_is_in_lao_by_default(base_url, wallet_only_rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_only_rp["client_id"])

    assert page.status_code == 200 and "<h2>ເຂົ້າສູ່ລະບົບດ້ວຍແອັບກະເປົາດິຈິຕອນ</h2>" in page.text
    assert "ສະແກນ QR ໂຄດນີ້ດ້ວຍແອັບກະເປົາດິຈິຕອນຂອງທ່ານ" in page.text


def test_acr_values_asking_for_the_wallet_alone_give_the_qr_page_to_a_client_that_also_registered_a_pin(base_url, wallet_rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, wallet_rp["client_id"], ui_locales="en", acr_values=WALLET_ONLY)
        both = start_authorize(browser, wallet_rp["client_id"], ui_locales="en", acr_values=f"{WALLET_ONLY} idbb:acr:static-code")

    assert "<h2>Sign in with your wallet app</h2>" in page.text and 'name="pin"' not in page.text
    assert 'name="pin"' in both.text and "<h2>Or sign in with your wallet app</h2>" in both.text  # the PIN form and the panel


def test_a_client_that_did_not_register_a_linked_wallet_acr_cannot_ask_for_the_wallet(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, rp["client_id"], acr_values=WALLET_ONLY)

    assert 'data-error="invalid_acr"' in page.text and 'id="qr-login"' not in page.text


def test_the_otp_login_page_shows_the_qr_panel_for_a_client_with_a_linked_wallet_acr(base_url, admin_token):
    otp_wallet, _ = register_client(base_url, admin_token, authContextRefs=["idbb:acr:generated-code", WALLET_ONLY])
    otp_only, _ = register_client(base_url, admin_token, authContextRefs=["idbb:acr:generated-code"])
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, otp_wallet, ui_locales="en")
        plain = start_authorize(browser, otp_only, ui_locales="en")
    link_code = _panel_link_code(page.text)
    linked = wallet_post(base_url, "link-transaction", linkCode=link_code)

    assert 'action="/authorize/otp/send"' in page.text and "<h2>Or sign in with your wallet app</h2>" in page.text
    assert qr_svg(link_code) in page.text
    assert linked["errors"] == [] and linked["response"]["authFactors"] == [[{"type": "OTP"}], [{"type": "Wallet"}]]
    assert 'action="/authorize/otp/send"' in plain.text and 'id="qr-login"' not in plain.text
