import base64
import re

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from joserfc.jwk import ECKey

from .helpers import (PARTNER_KEY, enrol_person, new_key, register_client, request_time, start_authorize, start_linked, wallet_post,
                      wla_challenge)


def _bind(base_url, token, partner_id, person, public_key, *, api_key=PARTNER_KEY, **overrides) -> httpx.Response:
    request = {"individualId": person["uin"], "authFactorType": "WLA", "format": "jwt", "publicKey": public_key,
               "challengeList": [{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}], **overrides}
    headers = {"PARTNER-ID": partner_id, "PARTNER-API-KEY": api_key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{base_url}/wallet-binding", json={"requestTime": request_time(), "request": request}, headers=headers)


def test_binding_returns_a_wallet_user_id_and_a_certificate_signed_by_the_identity_key(base_url, binding_token, partner_id, person):
    key = new_key()

    response = _bind(base_url, binding_token, partner_id, person, key.as_dict(private=False))

    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    body = response.json()["response"]
    certificate = x509.load_pem_x509_certificate(body["certificate"].encode())
    jwks = httpx.get(f"{base_url}/.well-known/jwks.json").json()["keys"]
    issuers = [x509.load_der_x509_certificate(base64.b64decode(k["x5c"][0])) for k in jwks]
    assert any(_issued_by(certificate, issuer) for issuer in issuers)
    assert certificate.public_key().public_numbers() == key.public_key.public_numbers()
    assert certificate.subject.rfc4514_string() == f"CN={body['walletUserId']}"
    assert body["expireDateTime"] > request_time()


def _issued_by(certificate, issuer) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def test_the_same_key_factor_and_person_cannot_be_bound_twice_but_another_person_can_use_the_key(base_url, admin_token, binding_token,
                                                                                                partner_id, person):
    key = ECKey.generate_key("P-256").as_dict(private=False)
    other = enrol_person(base_url, admin_token)

    first = _bind(base_url, binding_token, partner_id, person, key)
    again = _bind(base_url, binding_token, partner_id, person, key)
    for_other = _bind(base_url, binding_token, partner_id, other, key)

    assert first.json()["errors"] == []
    assert [e["errorCode"] for e in again.json()["errors"]] == ["duplicate_public_key"]
    assert for_other.json()["errors"] == []


@pytest.mark.parametrize("overrides, code", [
    ({"format": "pdf"}, "unsupported_challenge_format"),
    ({"publicKey": "string"}, "invalid_public_key"),
    ({"publicKey": {"kty": "RSA", "n": "abc", "a": "AQAB"}}, "invalid_public_key"),
    ({"challengeList": [{"authFactorType": "PIN", "challenge": " ", "format": "number"}]}, "invalid_auth_challenge"),
    ({"challengeList": [{"authFactorType": "PIN", "challenge": "000000", "format": "number"}]}, "invalid_auth_challenge"),
    ({"individualId": "0000000000"}, "invalid_auth_challenge"),
])
def test_bad_binding_requests_get_the_spec_error(base_url, binding_token, partner_id, person, overrides, code):
    response = _bind(base_url, binding_token, partner_id, person, new_key().as_dict(private=False), **overrides)

    assert response.status_code == 200
    assert [e["errorCode"] for e in response.json()["errors"]] == [code]


def test_a_private_key_is_refused_and_not_stored(base_url, binding_token, partner_id, person):
    response = _bind(base_url, binding_token, partner_id, person, new_key().as_dict(private=True))

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_public_key"]


def test_binding_needs_the_wallet_binding_scope_and_the_partner_key(base_url, oidc_issuer, binding_token, partner_id, person):
    key = new_key().as_dict(private=False)
    wrong_scope = oidc_issuer.token(sub="someone", audience="identity", scopes=["add_oidc_client"])

    no_token = _bind(base_url, None, partner_id, person, key)
    no_scope = _bind(base_url, wrong_scope, partner_id, person, key)
    bad_partner_key = _bind(base_url, binding_token, partner_id, person, key, api_key="guess")
    unknown_partner = _bind(base_url, binding_token, "no-such-partner", person, key)

    assert (no_token.status_code, no_scope.status_code, bad_partner_key.status_code, unknown_partner.status_code) == (401, 403, 401, 401)


@pytest.fixture(scope="module")
def wallet_rp(base_url, admin_token):
    client_id, key = register_client(base_url, admin_token, authContextRefs=["idbb:acr:static-code", "idbb:acr:linked-wallet"])
    return {"client_id": client_id, "key": key}


def test_a_bound_wallet_key_authenticates_a_linked_transaction(base_url, settings, binding_token, partner_id, person, wallet_rp):
    key = new_key()
    wallet_user_id = _bind(base_url, binding_token, partner_id, person, key.as_dict(private=False)).json()["response"]["walletUserId"]
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, wallet_rp["client_id"])
    linked = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])["response"]
    linked_id = linked["linkTransactionId"]

    response = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=[
        {"authFactorType": "WLA", "challenge": wla_challenge(key, wallet_user_id, settings.issuer, linked_id), "format": "jwt"}])

    assert [{"type": "PIN"}] in linked["authFactors"] and [{"type": "Wallet"}] in linked["authFactors"]
    assert response["errors"] == [], response


@pytest.mark.parametrize("tamper", ["unbound_key", "other_transaction", "long_lived"])
def test_a_wla_challenge_that_is_not_from_the_bound_key_for_this_transaction_fails(base_url, settings, binding_token, partner_id, person,
                                                                                   wallet_rp, tamper):
    key = new_key()
    wallet_user_id = _bind(base_url, binding_token, partner_id, person, key.as_dict(private=False)).json()["response"]["walletUserId"]
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, wallet_rp["client_id"])
    linked_id = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])["response"]["linkTransactionId"]
    signer = new_key() if tamper == "unbound_key" else key
    subject = "another-transaction" if tamper == "other_transaction" else linked_id
    extra = {"exp": 2**31} if tamper == "long_lived" else {}

    response = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=[
        {"authFactorType": "WLA", "challenge": wla_challenge(signer, wallet_user_id, settings.issuer, subject, **extra), "format": "jwt"}])

    assert [e["errorCode"] for e in response["errors"]] == ["auth_failed"]


@pytest.mark.parametrize("factors, accepted", [(["PIN"], False), (["WLA"], False), (["WLA", "PIN"], True)])
def test_a_client_registered_for_wallet_and_pin_needs_both_factors(base_url, settings, admin_token, binding_token, partner_id,
                                                                   person, factors, accepted):
    client_id, _ = register_client(base_url, admin_token, authContextRefs=["idbb:acr:linked-wallet-static-code"])
    key = new_key()
    wallet_user_id = _bind(base_url, binding_token, partner_id, person, key.as_dict(private=False)).json()["response"]["walletUserId"]
    with httpx.Client(base_url=base_url) as browser:  # the page offers the QR code alone: no PIN form without a wallet
        page = start_authorize(browser, client_id)
    link_code = re.search(r'data-link-code="([^"]+)"', page.text).group(1)
    linked_id = wallet_post(base_url, "link-transaction", linkCode=link_code)["response"]["linkTransactionId"]
    challenges = {"PIN": {"authFactorType": "PIN", "challenge": person["pin"], "format": "number"},
                  "WLA": {"authFactorType": "WLA", "challenge": wla_challenge(key, wallet_user_id, settings.issuer, linked_id), "format": "jwt"}}

    response = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"],
                           challengeList=[challenges[f] for f in factors])
    consent = wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=[], permittedAuthorizeScopes=[])

    if accepted:
        assert response["errors"] == [], response
        assert consent["errors"] == [], consent
    else:
        assert [e["errorCode"] for e in response["errors"]] == ["auth_failed"]
        assert [e["errorCode"] for e in consent["errors"]] == ["invalid_transaction"]  # still unauthenticated


def test_wla_is_refused_for_a_client_that_did_not_register_the_linked_wallet_acr(base_url, settings, admin_token, person):
    client_id, _ = register_client(base_url, admin_token)
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, client_id)
    linked_id = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])["response"]["linkTransactionId"]

    response = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"],
                           challengeList=[{"authFactorType": "WLA", "challenge": "x.y.z", "format": "jwt"}])

    assert [e["errorCode"] for e in response["errors"]] == ["auth_failed"]


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"requestTime": "x", "request": {}}',
                                     b'{"requestTime": "2024-01-01T00:00:00.000Z", "request": {"format": "jwt", "publicKey": [],'
                                     b' "challengeList": {}, "individualId": 5}}'])
def test_malformed_binding_requests_get_a_client_error_not_a_server_error(base_url, binding_token, partner_id, content):
    response = httpx.post(f"{base_url}/wallet-binding", content=content, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {binding_token}", "PARTNER-ID": partner_id, "PARTNER-API-KEY": PARTNER_KEY})

    assert response.status_code in (200, 400), response.text
    assert response.json()["errors"][0]["errorCode"] in ("invalid_request", "unsupported_challenge_format", "invalid_public_key")
