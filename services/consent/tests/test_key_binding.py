"""Citizens' signing keys are bound through the Identity BB: a real Identity BB binds a wallet key (PIN-proven) and
certifies it; the consent BB accepts the key only with that certificate, checked against the Identity BB's JWKS."""
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import text
from sqlmodel import Session

from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from identity.app import create_app as create_identity
from identity.models import WalletPartner
from identity.secrets_check import hash_secret
from identity.settings import IdentitySettings
from kernel.db import make_engine
from kernel.testing import free_port, serve

from .api import create_agreement, create_policy, has_consent, ok, sign, wallet_certificate

PARTNER_KEY = "wallet-partner-secret"
PIN = "246810"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture(scope="module")
def identity(infrastructure, oidc_issuer):
    port = free_port()
    settings = IdentitySettings(database_url=infrastructure.new_database("consent_kb_identity"),
                                amqp_url=infrastructure.new_vhost("consent_kb_identity"), port=port,
                                public_url=f"http://127.0.0.1:{port}", oidc_issuers=[oidc_issuer.url], environment="test")
    with serve(create_identity(settings), port=port) as url:
        engine = make_engine(settings)
        partner_id = f"wallet-{uuid.uuid4().hex[:8]}"
        with Session(engine) as session:  # a wallet backend's registration: done by an operator, no API for it
            session.add(WalletPartner(partner_id=partner_id, name="Test wallet", api_key_hash=hash_secret(PARTNER_KEY)))
            session.commit()
        engine.dispose()
        yield {"url": url, "partner_id": partner_id}


@pytest.fixture(scope="module")
def consent_url(infrastructure, oidc_issuer, identity, tmp_path_factory):
    settings = ConsentSettings(database_url=infrastructure.new_database("consent_kb"), amqp_url=infrastructure.new_vhost("consent_kb"),
                               oidc_issuers=[identity["url"], oidc_issuer.url], key_binding_issuer=identity["url"],
                               environment="test", data_dir=tmp_path_factory.mktemp("consent-kb"))
    with serve(create_consent(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def http(consent_url):
    with httpx.Client(base_url=consent_url, timeout=10) as client:
        yield client


def _enrolled_uin(identity_url: str, oidc_issuer) -> str:
    staff = {"Authorization": "Bearer " + oidc_issuer.token(sub="enrolment-officer", audience="identity", roles=["operator"])}
    enrollment_id = f"enr-{uuid.uuid4().hex[:10]}"
    fields = {"fullName": '[{"language": "eng", "value": "Test Citizen"}]', "dateOfBirth": "1990/01/01", "city": "Vientiane"}
    created = httpx.put(f"{identity_url}/enrollment", headers=staff, json={
        "id": "govstack.enrollment", "version": "v1", "requesttime": _now(),
        "request": {"id": enrollment_id, "process": "NEW", "source": "REGISTRATION_CLIENT", "fields": fields, "finalize": True}})
    assert created.status_code == 201, created.text
    record = httpx.get(f"{identity_url}/enrollment/{enrollment_id}", headers=staff).json()
    assert httpx.put(f"{identity_url}/persons/{record['personId']}/pin", headers=staff, json={"pin": PIN}).status_code == 204
    return record["uin"]


def _bind_wallet_key(identity: dict, oidc_issuer, uin: str, key: ECKey) -> str:
    """The wallet backend binds the key at the Identity BB (the person proves it with the PIN); the certificate it gets."""
    token = oidc_issuer.token(sub="wallet-backend", audience="identity", scopes=["wallet_binding"])
    response = httpx.post(f"{identity['url']}/wallet-binding", headers={
        "Authorization": f"Bearer {token}", "PARTNER-ID": identity["partner_id"], "PARTNER-API-KEY": PARTNER_KEY}, json={
        "requestTime": _now(), "request": {"individualId": uin, "authFactorType": "WLA", "format": "jwt",
                                           "publicKey": key.as_dict(private=False),
                                           "challengeList": [{"authFactorType": "PIN", "challenge": PIN, "format": "number"}]}})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    return response.json()["response"]["certificate"]


@pytest.fixture(scope="module")
def wallet(identity, oidc_issuer):
    key = ECKey.generate_key("P-256", private=True)
    return key, _bind_wallet_key(identity, oidc_issuer, _enrolled_uin(identity["url"], oidc_issuer), key)


def _citizen(oidc_issuer) -> dict:
    return {"Authorization": "Bearer " + oidc_issuer.token(sub=f"citizen-{uuid.uuid4().hex[:8]}", audience="consent", roles=["citizen"])}


def _register(http, headers, key, certificate) -> httpx.Response:
    return http.post("/service/individual/", headers=headers, json={"individual": {
        "publicKeyJwk": key.as_dict(private=False), "publicKeyCertificate": certificate}})


def test_a_key_the_identity_bb_bound_signs_consent(http, oidc_issuer, wallet):
    key, certificate = wallet
    headers = _citizen(oidc_issuer)
    admin = {"Authorization": "Bearer " + oidc_issuer.token(sub="admin", audience="consent", roles=["admin"])}
    verifier = {"Authorization": "Bearer " + oidc_issuer.token(sub="gateway", audience="consent", roles=["verifier"])}
    agreement = create_agreement(http, admin, policy_id=create_policy(http, admin)["policy"]["id"])["dataAgreement"]

    individual = ok(_register(http, headers, key, certificate))["individual"]
    draft = ok(http.post("/service/individual/record/consent-record/draft/", headers=headers,
                         params={"individualId": individual["id"], "dataAgreementId": agreement["id"]}))
    stored = ok(http.post("/service/individual/record/consent-record/", headers=headers, json={
        "consentRecord": draft["consentRecord"], "signature": {**draft["signature"], "signature": sign(draft["signature"]["payload"], key)}}))

    assert individual["publicKeyCertificate"] == certificate
    assert stored["signature"]["verificationMethod"] == "jws-individual"
    assert has_consent(http, verifier, individual["id"], agreement["id"]) is True


def test_a_key_without_its_certificate_is_refused(http, oidc_issuer, wallet):
    key, _ = wallet

    response = http.post("/service/individual/", headers=_citizen(oidc_issuer), json={"individual": {"publicKeyJwk": key.as_dict(private=False)}})

    assert (response.status_code, response.json()["error"]) == (400, "key_not_bound")


def test_the_identity_bbs_certificate_for_another_key_is_refused(http, oidc_issuer, wallet):
    _, certificate = wallet

    response = _register(http, _citizen(oidc_issuer), ECKey.generate_key("P-256", private=True), certificate)

    assert (response.status_code, response.json()["error"]) == (400, "key_not_bound")
    assert response.json()["errorDescription"] == "publicKeyCertificate certifies another key than publicKeyJwk."


def test_a_certificate_from_another_trusted_token_issuer_is_refused(http, oidc_issuer):
    """Only the Identity BB binds keys, though other issuers' tokens are trusted."""
    key = ECKey.generate_key("P-256", private=True)

    response = _register(http, _citizen(oidc_issuer), key, wallet_certificate(oidc_issuer.keys[-1], key))

    assert (response.status_code, response.json()["errorDescription"]) == (400, "publicKeyCertificate is not signed by the Identity BB.")


def test_a_self_made_certificate_and_garbage_are_refused(http, oidc_issuer):
    from joserfc.jwk import RSAKey
    key = ECKey.generate_key("P-256", private=True)

    self_made = _register(http, _citizen(oidc_issuer), key, wallet_certificate(RSAKey.generate_key(2048), key))
    garbage = _register(http, _citizen(oidc_issuer), key, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")

    assert (self_made.status_code, self_made.json()["error"]) == (400, "key_not_bound")
    assert (garbage.status_code, garbage.json()["errorDescription"]) == (400, "publicKeyCertificate is not a PEM X.509 certificate.")


# The conftest's consent server trusts the test issuer as its Identity BB, so certificates can be made with any dates.

def test_an_expired_certificate_is_refused(client, tokens, oidc_issuer):
    key = ECKey.generate_key("P-256", private=True)
    expired = wallet_certificate(oidc_issuer.keys[-1], key, valid_from=datetime.now(timezone.utc) - timedelta(days=2), days=1)

    response = _register(client, tokens("citizen", sub=f"citizen-{uuid.uuid4().hex[:8]}"), key, expired)

    assert (response.status_code, response.json()["errorDescription"]) == (400, "publicKeyCertificate is expired or not yet valid.")


def test_a_key_whose_certificate_expired_since_signs_no_more(client, engine, admin, oidc_issuer, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    a_year_ago = datetime.now(timezone.utc) - timedelta(days=366)
    with engine.begin() as connection:  # as if the year of the wallet binding's certificate had passed
        connection.execute(text("UPDATE individual SET public_key_certificate = :pem WHERE id = :id"), {
            "pem": wallet_certificate(oidc_issuer.keys[-1], citizen.key, valid_from=a_year_ago), "id": citizen.individual_id})

    response = client.post("/service/individual/record/consent-record/draft/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]})

    assert (response.status_code, response.json()["error"]) == (400, "key_not_bound")
