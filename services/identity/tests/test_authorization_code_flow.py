from concurrent.futures import ThreadPoolExecutor
import base64
import hashlib

import httpx
import pytest
from joserfc import jwe, jwt
from joserfc.jwk import KeySet, RSAKey

from .helpers import (assertion, enrol_person, login_and_consent, new_key, redeem, register_client, start_authorize,
                           transaction_id_of)


@pytest.fixture(scope="module")
def jwks(base_url):
    return KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())


def _browser(base_url) -> httpx.Client:
    return httpx.Client(base_url=base_url)


def test_full_flow_yields_verified_tokens_and_only_consented_claims(base_url, settings, rp, person, jwks):
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, accept=["name"], state="s-123", nonce="n-456")

    tokens = redeem(base_url, rp["client_id"], rp["key"], callback["code"])
    userinfo = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})

    assert callback["state"] == "s-123"
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    id_token = jwt.decode(body["id_token"], jwks, algorithms=["RS256"]).claims
    access = jwt.decode(body["access_token"], jwks, algorithms=["RS256"]).claims
    assert id_token["iss"] == settings.public_url and id_token["aud"] == rp["client_id"]
    assert id_token["nonce"] == "n-456" and id_token["acr"] == "idbb:acr:static-code"
    assert {"exp", "iat", "auth_time", "at_hash"} <= id_token.keys()
    expected_at_hash = base64.urlsafe_b64encode(hashlib.sha256(body["access_token"].encode()).digest()[:16]).rstrip(b"=").decode()
    assert id_token["at_hash"] == expected_at_hash
    assert access["sub"] == id_token["sub"] != person["person_id"]
    assert {"iss", "exp", "aud", "client_id", "iat", "jti"} <= access.keys()
    assert userinfo.status_code == 200 and userinfo.headers["content-type"].startswith("application/jwt")
    claims = jwt.decode(userinfo.text, jwks, algorithms=["RS256"]).claims
    assert claims["sub"] == id_token["sub"]
    assert claims["name"] == "ສົມໃຈ ໄຊຍະວົງ"  # Lao first by default
    assert "birthdate" not in claims and "phone_number" not in claims  # offered but not consented


def test_subject_is_pairwise_per_relying_party(base_url, admin_token, rp, person, jwks):
    other_id, other_key = register_client(base_url, admin_token)
    subjects = []
    for client_id, key in ((rp["client_id"], rp["key"]), (other_id, other_key)):
        with _browser(base_url) as browser:
            callback = login_and_consent(browser, client_id, person)
        id_token = redeem(base_url, client_id, key, callback["code"]).json()["id_token"]
        subjects.append(jwt.decode(id_token, jwks).claims["sub"])

    assert subjects[0] != subjects[1]


def test_replayed_code_is_refused_and_revokes_the_tokens_it_gave(base_url, rp, person):
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person)
    first = redeem(base_url, rp["client_id"], rp["key"], callback["code"])

    replay = redeem(base_url, rp["client_id"], rp["key"], callback["code"])
    userinfo = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"})

    assert first.status_code == 200
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_transaction"
    assert userinfo.status_code == 401


def test_pkce_with_the_wrong_verifier_is_refused(base_url, rp, person):
    verifier = "v" * 43 + "right"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, code_challenge=challenge, code_challenge_method="S256")

    wrong = redeem(base_url, rp["client_id"], rp["key"], callback["code"], code_verifier="w" * 48)

    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_pkce_with_the_right_verifier_succeeds(base_url, rp, person):
    verifier = "v" * 43 + "right"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, code_challenge=challenge, code_challenge_method="S256")

    assert redeem(base_url, rp["client_id"], rp["key"], callback["code"], code_verifier=verifier).status_code == 200


def test_code_cannot_be_redeemed_with_another_redirect_uri(base_url, rp, person):
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person)

    response = redeem(base_url, rp["client_id"], rp["key"], callback["code"], redirect_uri="https://evil.example/cb")

    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"


def test_assertion_signed_by_another_key_is_refused(base_url, rp, person):
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person)

    response = redeem(base_url, rp["client_id"], rp["key"], callback["code"],
                      client_assertion=assertion(new_key(), rp["client_id"], f"{base_url}/oauth/token"))

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


@pytest.mark.parametrize("overrides", [{"exp": 1024}, {"aud": "IDBB server"}, {"iss": "someone-else"}])
def test_expired_or_misaddressed_assertion_is_refused(base_url, rp, person, overrides):
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person)

    response = redeem(base_url, rp["client_id"], rp["key"], callback["code"],
                      client_assertion=assertion(rp["key"], rp["client_id"], f"{base_url}/oauth/token", **overrides))

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


def test_replayed_assertion_is_refused(base_url, rp, person):
    reused = assertion(rp["key"], rp["client_id"], f"{base_url}/oauth/token")
    codes = []
    for _ in range(2):
        with _browser(base_url) as browser:
            codes.append(login_and_consent(browser, rp["client_id"], person)["code"])

    first = redeem(base_url, rp["client_id"], rp["key"], codes[0], client_assertion=reused)
    second = redeem(base_url, rp["client_id"], rp["key"], codes[1], client_assertion=reused)

    assert first.status_code == 200
    assert second.status_code == 400 and second.json()["error"] == "invalid_assertion"


@pytest.mark.parametrize("form, error", [
    ({}, "invalid_payload"),
    ({"grant_type": "", "code": "x", "client_id": "c"}, "invalid_input"),
    ({"grant_type": "authorization_code", "code": "x", "client_id": "c"}, "invalid_redirect_uri"),
    ({"grant_type": "authorization_code", "code": "x", "client_id": "c", "redirect_uri": "https://a/b", "client_assertion_type": "x"},
     "invalid_assertion_type"),
    ({"grant_type": "authorization_code", "code": "code", "client_id": "c", "redirect_uri": "https://a/b",
      "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "invalid_assertion"),
    ({"grant_type": "authorization_code", "code": "code", "client_id": "c", "redirect_uri": "https://a/b",
      "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": "not.a.jwt"}, "invalid_assertion"),
])
def test_malformed_token_requests_get_the_spec_error(base_url, form, error):
    response = httpx.post(f"{base_url}/oauth/token", data=form)

    assert response.status_code == 400
    assert response.json()["error"] == error


def test_userinfo_without_a_token_is_unauthorized(base_url):
    response = httpx.get(f"{base_url}/oidc/userinfo")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_userinfo_refuses_a_token_signed_by_someone_else(base_url, oidc_issuer):
    response = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {oidc_issuer.token()}"})

    assert response.status_code == 401


def test_userinfo_is_encrypted_for_a_client_with_an_encryption_key(base_url, admin_token, person, jwks):
    enc_key = RSAKey.generate_key(2048, parameters={"kid": "enc-1", "use": "enc"})
    client_id, key = register_client(base_url, admin_token, encPublicKey=enc_key.as_dict(private=False))
    with _browser(base_url) as browser:
        callback = login_and_consent(browser, client_id, person, accept=["name"])
    access_token = redeem(base_url, client_id, key, callback["code"]).json()["access_token"]

    response = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    nested = jwe.decrypt_compact(response.text, enc_key, algorithms=["RSA-OAEP-256", "A256GCM"]).plaintext.decode()
    assert jwt.decode(nested, jwks).claims["name"] == "ສົມໃຈ ໄຊຍະວົງ"


def test_login_page_is_lao_by_default_with_an_english_switch(base_url, rp):
    with _browser(base_url) as browser:
        lao = start_authorize(browser, rp["client_id"])
        english = start_authorize(browser, rp["client_id"], ui_locales="en")

    assert '<html lang="lo">' in lao.text and "ເຂົ້າສູ່ລະບົບ" in lao.text
    assert "ui_locales=en" in lao.text
    assert '<html lang="en">' in english.text and "Sign in" in english.text


@pytest.mark.parametrize("params, code", [
    ({"client_id": "unknown-client"}, "invalid_client"),
    ({"redirect_uri": "https://evil.example/cb"}, "invalid_redirect_uri"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"claims": "name"}, "invalid_request"),
    ({"prompt": "none"}, "login_required"),
    ({"acr_values": "idbb:acr:biometrics"}, "invalid_acr"),
])
def test_bad_authorize_requests_show_an_error_page_without_redirecting(base_url, rp, params, code):
    with _browser(base_url) as browser:
        response = start_authorize(browser, params.pop("client_id", rp["client_id"]), **params)

    assert response.status_code == 200
    assert f'data-error="{code}"' in response.text
    assert "location" not in response.headers


def test_wrong_pin_is_refused_and_repeated_failures_lock_the_person_out(base_url, admin_token, rp, settings):
    victim = enrol_person(base_url, admin_token, pin="135790")
    statuses = []
    for _ in range(settings.max_failed_attempts):
        with _browser(base_url) as browser:
            transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)
            statuses.append(browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": victim["uin"],
                                                                   "pin": "000000"}).status_code)

    with _browser(base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)
        right_pin = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": victim["uin"],
                                                           "pin": victim["pin"]})

    assert statuses == [401] * (settings.max_failed_attempts - 1) + [429]
    assert right_pin.status_code == 429  # locked even with the right PIN


def test_concurrent_wrong_pins_cannot_outrun_the_lockout(base_url, admin_token, rp, settings):
    victim = enrol_person(base_url, admin_token, pin="135790")
    browsers = [_browser(base_url) for _ in range(12)]
    transaction_ids = [transaction_id_of(start_authorize(browser, rp["client_id"]).text) for browser in browsers]

    def guess(pair):
        browser, transaction_id = pair
        return browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": victim["uin"], "pin": "000000"},
                            timeout=30).status_code
    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = list(pool.map(guess, zip(browsers, transaction_ids)))
    for browser in browsers:
        browser.close()

    assert statuses.count(401) == settings.max_failed_attempts - 1, statuses  # each failure counted, none lost to a race

def test_concurrent_wrong_pins_in_one_transaction_cannot_outrun_its_failure_limit(base_url, rp, settings):
    unknown_ids = [f"61708434{n:02d}" for n in range(12)]  # nobody's: only the transaction's own count can stop them
    with _browser(base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)

        def guess(individual_id):
            return browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": individual_id,
                                                          "pin": "000000"}, timeout=30).status_code
        with ThreadPoolExecutor(max_workers=len(unknown_ids)) as pool:
            statuses = list(pool.map(guess, unknown_ids))

    # Each guess counted, none lost to a race: the last allowed one ends the transaction (429), the rest find it ended.
    assert statuses.count(401) == settings.max_failed_attempts - 1, statuses
    assert statuses.count(429) == 1, statuses


def test_another_browser_cannot_continue_a_transaction(base_url, rp, person):
    with _browser(base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)
    with _browser(base_url) as stranger:
        response = stranger.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"],
                                                          "pin": person["pin"]})

    assert response.status_code == 200 and 'data-error="invalid_transaction"' in response.text


def test_consent_without_login_is_refused(base_url, rp):
    with _browser(base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)
        response = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow", "claims": ["name"]})

    assert 'data-error="login_required"' in response.text
    assert "location" not in response.headers


def test_undecodable_token_request_is_invalid_payload_not_a_server_error(base_url):
    response = httpx.post(f"{base_url}/oauth/token", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 400 and response.json()["error"] == "invalid_payload"
