"""POST /wallet-binding/attestation: the person's own access token gets a signed statement that a wallet key it bound is
theirs (sub and aud of the token, cnf.jkt of the key); anyone else's key, an expired binding or a token that is not a
person's access token gets none."""
import time
from datetime import timedelta

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlmodel import Session, select

from identity.models import WalletBinding, utcnow

from .helpers import PARTNER_KEY, enrol_person, login_and_consent, redeem, request_time


@pytest.fixture(scope="module")
def jwks(base_url) -> KeySet:
    return KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())


def _bind(base_url, binding_token, partner_id, person, key: ECKey) -> str:
    """The wallet backend binds the key for the person (PIN-proven); the certificate it returns."""
    response = httpx.post(f"{base_url}/wallet-binding", headers={
        "Authorization": f"Bearer {binding_token}", "PARTNER-ID": partner_id, "PARTNER-API-KEY": PARTNER_KEY}, json={
        "requestTime": request_time(), "request": {
            "individualId": person["uin"], "authFactorType": "WLA", "format": "jwt", "publicKey": key.as_dict(private=False),
            "challengeList": [{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}]}})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    return response.json()["response"]["certificate"]


def _tokens_of(base_url, rp, person) -> dict:
    with httpx.Client(base_url=base_url) as browser:
        callback = login_and_consent(browser, rp["client_id"], person, accept=["name"])
    response = redeem(base_url, rp["client_id"], rp["key"], callback["code"])
    assert response.status_code == 200, response.text
    return response.json()


def _attest(base_url, token: str | None, **body) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base_url}/wallet-binding/attestation", headers=headers, json=body)


@pytest.fixture(scope="module")
def alice(base_url, admin_token, rp, binding_token, partner_id):
    person = enrol_person(base_url, admin_token)
    key = ECKey.generate_key("P-256", private=True)
    certificate = _bind(base_url, binding_token, partner_id, person, key)
    return {**person, "key": key, "certificate": certificate, "tokens": _tokens_of(base_url, rp, person)}


def test_the_persons_own_token_gets_an_attestation_of_the_key_for_its_subject_and_client(base_url, settings, rp, alice, jwks):
    access = alice["tokens"]["access_token"]

    by_certificate = _attest(base_url, access, certificate=alice["certificate"])
    by_jwk = _attest(base_url, access, publicKey=alice["key"].as_dict(private=False))

    assert by_certificate.status_code == 200, by_certificate.text
    assert by_certificate.headers["cache-control"] == "no-store"
    assert by_jwk.status_code == 200, by_jwk.text
    token = jwt.decode(by_certificate.json()["response"]["keyBindingAttestation"], jwks, algorithms=["RS256"])
    access_claims = jwt.decode(access, jwks, algorithms=["RS256"]).claims
    assert token.header["typ"] == "key-binding+jwt"
    claims = token.claims
    assert (claims["iss"], claims["sub"], claims["aud"]) == (settings.issuer, access_claims["sub"], rp["client_id"])
    assert claims["cnf"] == {"jkt": alice["key"].thumbprint()}
    assert 0 < claims["exp"] - claims["iat"] <= 300 and claims["exp"] > time.time() and claims["jti"]


def test_another_persons_key_and_an_unbound_key_get_the_same_refusal(base_url, admin_token, rp, binding_token, partner_id, alice):
    bob = enrol_person(base_url, admin_token)
    bob_certificate = _bind(base_url, binding_token, partner_id, bob, ECKey.generate_key("P-256", private=True))
    access = alice["tokens"]["access_token"]

    others = _attest(base_url, access, certificate=bob_certificate)
    unbound = _attest(base_url, access, publicKey=ECKey.generate_key("P-256", private=True).as_dict(private=False))
    bob_asks_for_alices = _attest(base_url, _tokens_of(base_url, rp, bob)["access_token"], certificate=alice["certificate"])

    for refused in (others, unbound, bob_asks_for_alices):
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"] == [{"errorCode": "key_not_bound",
                                             "errorMessage": "This key is not bound to the person of the access token."}]
        assert "keyBindingAttestation" not in refused.json()["response"]


def test_an_expired_binding_is_not_attested(base_url, engine, admin_token, rp, binding_token, partner_id):
    person = enrol_person(base_url, admin_token)
    key = ECKey.generate_key("P-256", private=True)
    certificate = _bind(base_url, binding_token, partner_id, person, key)
    with Session(engine) as session:
        binding = session.exec(select(WalletBinding).where(WalletBinding.key_thumbprint == key.thumbprint())).one()
        binding.expires_at = utcnow() - timedelta(minutes=1)
        session.add(binding)
        session.commit()

    response = _attest(base_url, _tokens_of(base_url, rp, person)["access_token"], certificate=certificate)

    assert response.status_code == 403
    assert response.json()["errors"][0]["errorCode"] == "binding_expired"


def test_an_attestation_never_outlives_the_binding(base_url, engine, admin_token, rp, binding_token, partner_id, jwks):
    person = enrol_person(base_url, admin_token)
    key = ECKey.generate_key("P-256", private=True)
    certificate = _bind(base_url, binding_token, partner_id, person, key)
    ends = utcnow() + timedelta(seconds=60)
    with Session(engine) as session:
        binding = session.exec(select(WalletBinding).where(WalletBinding.key_thumbprint == key.thumbprint())).one()
        binding.expires_at = ends
        session.add(binding)
        session.commit()

    response = _attest(base_url, _tokens_of(base_url, rp, person)["access_token"], certificate=certificate)

    assert response.status_code == 200, response.text
    assert jwt.decode(response.json()["response"]["keyBindingAttestation"], jwks).claims["exp"] <= int(ends.timestamp())


def test_without_a_persons_access_token_there_is_no_attestation(base_url, oidc_issuer, alice, jwks):
    subject = jwt.decode(alice["tokens"]["access_token"], jwks).claims["sub"]
    attestation = _attest(base_url, alice["tokens"]["access_token"], certificate=alice["certificate"]).json()["response"]["keyBindingAttestation"]
    tries = {
        "no token": None,
        "garbage": "not-a-jwt",
        "the ID token": alice["tokens"]["id_token"],
        "an attestation (signed here, with a jti, but not an access token)": attestation,
        "another issuer's token with the same subject": oidc_issuer.token(sub=subject, audience="identity"),
    }

    for why, token in tries.items():
        response = _attest(base_url, token, certificate=alice["certificate"])

        assert response.status_code == 401, why
        assert response.json()["errors"][0]["errorCode"] == "invalid_token", why
        assert response.headers["www-authenticate"].startswith("Bearer"), why


@pytest.mark.parametrize("body, code", [
    ({}, "invalid_request"),
    ({"certificate": "x", "publicKey": {"kty": "EC"}}, "invalid_request"),
    ({"certificate": "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"}, "invalid_public_key"),
    ({"publicKey": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}}, "invalid_public_key"),
    ({"publicKey": ECKey.generate_key("P-256", private=True).as_dict(private=True)}, "invalid_public_key"),
    ({"certificate": 12}, "invalid_request"),
])
def test_bad_input_is_a_400_in_the_identity_error_shape(base_url, alice, body, code):
    response = _attest(base_url, alice["tokens"]["access_token"], **body)

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["errorCode"] == code


def test_the_token_is_checked_before_the_body(base_url):
    response = _attest(base_url, "not-a-jwt", certificate=12)

    assert response.status_code == 401
