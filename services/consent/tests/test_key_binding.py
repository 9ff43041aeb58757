"""Citizens' signing keys are bound through the Identity BB: the consent BB accepts a key only with the certificate the
Identity BB issued when a wallet bound it and the Identity BB's attestation that the key is the token's person's, both
checked against the Identity BB's JWKS. A second test issuer plays the Identity BB here, beside another trusted token
issuer; tests/test_citizen_key_binding.py runs the same with a real Identity BB."""
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import text

from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from kernel.testing import TestIssuer, free_port, serve

from .api import create_agreement, create_policy, has_consent, key_attestation, ok, sign, wallet_certificate


@pytest.fixture(scope="module")
def identity():
    """The Identity BB's part: its JWKS, citizens' tokens, wallet-binding certificates and key attestations."""
    issuer = TestIssuer()
    port = free_port()
    issuer.url = f"http://127.0.0.1:{port}"
    with serve(issuer.app(), port=port):
        yield issuer


@pytest.fixture(scope="module")
def consent_url(infrastructure, oidc_issuer, identity, tmp_path_factory):
    settings = ConsentSettings(database_url=infrastructure.new_database("consent_kb"), amqp_url=infrastructure.new_vhost("consent_kb"),
                               oidc_issuers=[identity.url, oidc_issuer.url], key_binding_issuer=identity.url,
                               environment="test", data_dir=tmp_path_factory.mktemp("consent-kb"))
    with serve(create_consent(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def http(consent_url):
    with httpx.Client(base_url=consent_url, timeout=10) as client:
        yield client


class Wallet:
    """A citizen of the Identity BB with a wallet key it bound there."""

    def __init__(self, identity: TestIssuer):
        self.identity = identity
        self.subject = f"citizen-{uuid.uuid4().hex[:8]}"
        self.headers = {"Authorization": "Bearer " + identity.token(sub=self.subject, audience="consent", roles=["citizen"])}
        self.key = ECKey.generate_key("P-256", private=True)
        self.certificate = wallet_certificate(identity.keys[-1], self.key)

    def attestation(self, **overrides) -> str:
        return key_attestation(self.identity, self.key, **{"subject": self.subject, **overrides})

    def individual(self, **overrides) -> dict:
        return {"publicKeyJwk": self.key.as_dict(private=False), "publicKeyCertificate": self.certificate,
                "keyBindingAttestation": self.attestation(), **overrides}


@pytest.fixture
def wallet(identity) -> Wallet:
    return Wallet(identity)


def _register(http, wallet: Wallet, **overrides) -> httpx.Response:
    return http.post("/service/individual/", headers=wallet.headers, json={"individual": wallet.individual(**overrides)})


def _individuals(http, wallet: Wallet) -> list[dict]:
    return ok(http.get("/service/individuals/", headers=wallet.headers))["individuals"]


def _refused(response: httpx.Response, status: int, description: str) -> None:
    assert (response.status_code, response.json()["error"], response.json()["errorDescription"]) == (status, "key_not_bound", description)


def test_a_bound_and_attested_key_signs_consent(http, oidc_issuer, wallet):
    admin = {"Authorization": "Bearer " + oidc_issuer.token(sub="admin", audience="consent", roles=["admin"])}
    verifier = {"Authorization": "Bearer " + oidc_issuer.token(sub="gateway", audience="consent", roles=["verifier"])}
    agreement = create_agreement(http, admin, policy_id=create_policy(http, admin)["policy"]["id"])["dataAgreement"]

    individual = ok(_register(http, wallet))["individual"]
    draft = ok(http.post("/service/individual/record/consent-record/draft/", headers=wallet.headers,
                         params={"individualId": individual["id"], "dataAgreementId": agreement["id"]}))
    stored = ok(http.post("/service/individual/record/consent-record/", headers=wallet.headers, json={
        "consentRecord": draft["consentRecord"], "signature": {**draft["signature"], "signature": sign(draft["signature"]["payload"], wallet.key)}}))

    assert individual["publicKeyCertificate"] == wallet.certificate
    assert "keyBindingAttestation" not in individual  # checked once, not kept
    assert stored["signature"]["verificationMethod"] == "jws-individual"
    assert has_consent(http, verifier, individual["id"], agreement["id"]) is True


def test_a_key_without_its_certificate_or_its_attestation_is_refused(http, wallet):
    key = wallet.key.as_dict(private=False)

    no_certificate = http.post("/service/individual/", headers=wallet.headers, json={"individual": {
        "publicKeyJwk": key, "keyBindingAttestation": wallet.attestation()}})
    no_attestation = http.post("/service/individual/", headers=wallet.headers, json={"individual": {
        "publicKeyJwk": key, "publicKeyCertificate": wallet.certificate}})

    assert (no_certificate.status_code, no_certificate.json()["error"]) == (400, "key_not_bound")
    _refused(no_attestation, 400, "publicKeyJwk needs keyBindingAttestation: the Identity BB's attestation that the key is the token's person's.")
    assert _individuals(http, wallet) == []


def test_another_persons_attestation_is_refused_and_nothing_is_stored(http, identity, wallet):
    """Person B holds A's certificate and A's attestation (both travel in the clear): B's token cannot register A's key."""
    other = Wallet(identity)

    response = http.post("/service/individual/", headers=other.headers, json={"individual": wallet.individual()})

    _refused(response, 403, "keyBindingAttestation is for another person or client than this token.")
    assert _individuals(http, other) == []


def test_an_attestation_for_another_client_is_refused(http, wallet):
    response = _register(http, wallet, keyBindingAttestation=wallet.attestation(audience="another-portal"))

    _refused(response, 403, "keyBindingAttestation is for another person or client than this token.")


def test_an_attestation_of_another_key_is_refused(http, wallet):
    other_key = ECKey.generate_key("P-256", private=True)

    response = _register(http, wallet, keyBindingAttestation=key_attestation(wallet.identity, other_key, subject=wallet.subject))

    _refused(response, 400, "keyBindingAttestation attests another key than publicKeyJwk.")
    assert _individuals(http, wallet) == []


def test_an_expired_attestation_is_refused(http, wallet):
    response = _register(http, wallet, keyBindingAttestation=wallet.attestation(expires_in=-120))

    _refused(response, 400, "keyBindingAttestation has expired; ask the Identity BB for a new one.")


def test_an_attestation_signed_by_anyone_but_the_identity_bb_is_refused(http, oidc_issuer, wallet):
    """Another trusted token issuer's key, or a self-made key, even naming the Identity BB as issuer."""
    self_made = RSAKey.generate_key(2048, parameters={"kid": wallet.identity.keys[-1].kid})

    for signer in (oidc_issuer.keys[-1], self_made):
        response = _register(http, wallet, keyBindingAttestation=wallet.attestation(signer=signer))

        _refused(response, 400, "keyBindingAttestation is not signed by the Identity BB.")
    assert _individuals(http, wallet) == []


def test_another_jwt_of_the_identity_bb_is_no_attestation(http, identity, wallet):
    """The Identity BB's access tokens are signed with the same keys; without the attestation's typ they do not count."""
    access_token = identity.token(sub=wallet.subject, audience="test-client", cnf={"jkt": wallet.key.thumbprint()})

    response = _register(http, wallet, keyBindingAttestation=access_token)

    _refused(response, 400, "keyBindingAttestation is not a key-binding attestation of the Identity BB.")


def test_a_failed_key_change_changes_nothing(http, identity, wallet):
    individual = ok(_register(http, wallet))["individual"]
    new = Wallet(identity)  # a key another person bound
    change = {"externalId": "changed", "publicKeyJwk": new.key.as_dict(private=False), "publicKeyCertificate": new.certificate,
              "keyBindingAttestation": new.attestation()}

    response = http.put(f"/service/individual/{individual['id']}/", headers=wallet.headers, json={"individual": change})

    _refused(response, 403, "keyBindingAttestation is for another person or client than this token.")
    assert _individuals(http, wallet) == [individual]


def test_only_the_identity_bbs_citizens_register_keys(http, oidc_issuer, wallet):
    """A citizen token of another trusted issuer has subjects the attestation does not speak of; an admin has none."""
    citizen_elsewhere = {"Authorization": "Bearer " + oidc_issuer.token(sub=wallet.subject, audience="consent", roles=["citizen"])}
    admin = {"Authorization": "Bearer " + oidc_issuer.token(sub="admin", audience="consent", roles=["admin"])}

    as_citizen_elsewhere = http.post("/service/individual/", headers=citizen_elsewhere, json={"individual": wallet.individual()})
    as_admin = http.post("/config/individual/", headers=admin, json={"individual": wallet.individual()})

    for response in (as_citizen_elsewhere, as_admin):
        assert (response.status_code, response.json()["errorDescription"]) == (403, "Only the citizen's own token may register a signing key.")


def test_the_identity_bbs_certificate_for_another_key_is_refused(http, identity, wallet):
    other = Wallet(identity)

    response = _register(http, wallet, publicKeyCertificate=other.certificate)

    _refused(response, 400, "publicKeyCertificate certifies another key than publicKeyJwk.")


def test_a_certificate_from_another_trusted_token_issuer_is_refused(http, oidc_issuer, wallet):
    """Only the Identity BB binds keys, though other issuers' tokens are trusted."""
    response = _register(http, wallet, publicKeyCertificate=wallet_certificate(oidc_issuer.keys[-1], wallet.key))

    _refused(response, 400, "publicKeyCertificate is not signed by the Identity BB.")


def test_a_self_made_certificate_and_garbage_are_refused(http, wallet):
    self_made = _register(http, wallet, publicKeyCertificate=wallet_certificate(RSAKey.generate_key(2048), wallet.key))
    garbage = _register(http, wallet, publicKeyCertificate="-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")

    _refused(self_made, 400, "publicKeyCertificate is not signed by the Identity BB.")
    _refused(garbage, 400, "publicKeyCertificate is not a PEM X.509 certificate.")


def test_an_expired_certificate_is_refused(http, identity, wallet):
    expired = wallet_certificate(identity.keys[-1], wallet.key, valid_from=datetime.now(timezone.utc) - timedelta(days=2), days=1)

    _refused(_register(http, wallet, publicKeyCertificate=expired), 400, "publicKeyCertificate is expired or not yet valid.")


# The conftest's consent server trusts the test issuer as its Identity BB.

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
