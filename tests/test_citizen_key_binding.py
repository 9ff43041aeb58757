"""A citizen's signing key reaches the Consent BB only as that citizen's, with a real Identity BB: the person is enrolled,
a wallet binds its key (PIN-proven) and gets the certificate, the person signs in to a portal, the portal's access token
gets the Identity BB's attestation that the key is the person's, and the Consent BB registers the key and stores consent
signed with it. A second person, holding the first one's certificate and attestation, gets neither an attestation nor
the key registered."""
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey
from sqlmodel import Session

from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from identity.app import create_app as create_identity
from identity.models import WalletPartner
from identity.secrets_check import hash_secret
from identity.settings import IdentitySettings
from kernel.db import make_engine
from kernel.testing import free_port, serve

CALLBACK = "https://portal.example.la/callback"
PARTNER_KEY = "wallet-partner-secret"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


@pytest.fixture(scope="module")
def suite(infrastructure, oidc_issuer, tmp_path_factory):
    """Identity and Consent, each with its own database; a portal client and a wallet partner registered at Identity."""
    port = free_port()
    identity_settings = IdentitySettings(database_url=infrastructure.new_database("kb_identity"), amqp_url=infrastructure.new_vhost("kb_identity"),
                                         port=port, public_url=f"http://127.0.0.1:{port}", oidc_issuers=[oidc_issuer.url],
                                         environment="test")
    portal_id, portal_key = f"portal-{uuid.uuid4().hex[:8]}", RSAKey.generate_key(2048, parameters={"kid": "portal-1", "use": "sig"})
    with serve(create_identity(identity_settings), port=port) as identity_url:
        consent_settings = ConsentSettings(database_url=infrastructure.new_database("kb_consent"), amqp_url=infrastructure.new_vhost("kb_consent"),
                                           oidc_issuers=[identity_url, oidc_issuer.url], key_binding_issuer=identity_url,
                                           citizen_clients=[portal_id], environment="test", data_dir=tmp_path_factory.mktemp("kb-consent"))
        with serve(create_consent(consent_settings)) as consent_url:
            operator = {"Authorization": "Bearer " + oidc_issuer.token(sub="operator", audience="identity", roles=["operator"],
                                                                       scopes=["add_oidc_client"], expires_in=3600)}
            registered = httpx.post(f"{identity_url}/client-mgmt/oidc-client", headers=operator, json={"requestTime": _now(), "request": {
                "clientId": portal_id, "clientName": "Portal", "relyingPartyId": portal_id, "logoUri": "https://portal.example.la/logo.png",
                "redirectUris": [CALLBACK], "authContextRefs": ["idbb:acr:static-code"], "publicKey": portal_key.as_dict(private=False),
                "userClaims": ["name"], "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}})
            assert registered.status_code == 200 and registered.json()["errors"] == [], registered.text
            engine = make_engine(identity_settings)
            partner_id = f"wallet-{uuid.uuid4().hex[:8]}"
            with Session(engine) as session:  # a wallet backend's registration: done by an operator, no API for it
                session.add(WalletPartner(partner_id=partner_id, name="Test wallet", api_key_hash=hash_secret(PARTNER_KEY)))
                session.commit()
            engine.dispose()
            yield {"identity": identity_url, "consent": consent_url, "operator": operator, "portal_id": portal_id, "portal_key": portal_key,
                   "partner_id": partner_id, "oidc_issuer": oidc_issuer}


def _enrol(suite) -> dict:
    identity, staff = suite["identity"], suite["operator"]
    enrollment_id, pin = f"enr-{uuid.uuid4().hex[:10]}", "246810"
    created = httpx.put(f"{identity}/enrollment", headers=staff, json={
        "id": "govstack.enrollment", "version": "v1", "requesttime": _now(), "request": {
            "id": enrollment_id, "process": "NEW", "source": "REGISTRATION_CLIENT", "finalize": True,
            "fields": {"fullName": '[{"language": "eng", "value": "Test Citizen"}]', "dateOfBirth": "1990/01/01", "city": "Vientiane"}}})
    assert created.status_code == 201, created.text
    record = httpx.get(f"{identity}/enrollment/{enrollment_id}", headers=staff).json()
    assert httpx.put(f"{identity}/persons/{record['personId']}/pin", headers=staff, json={"pin": pin}).status_code == 204
    return {"uin": record["uin"], "pin": pin}


def _bind_wallet_key(suite, person: dict, key: ECKey) -> str:
    """The wallet backend binds the key at the Identity BB (the person proves it with the PIN); the certificate."""
    token = suite["oidc_issuer"].token(sub="wallet-backend", audience="identity", scopes=["wallet_binding"])
    response = httpx.post(f"{suite['identity']}/wallet-binding", headers={
        "Authorization": f"Bearer {token}", "PARTNER-ID": suite["partner_id"], "PARTNER-API-KEY": PARTNER_KEY}, json={
        "requestTime": _now(), "request": {"individualId": person["uin"], "authFactorType": "WLA", "format": "jwt",
                                           "publicKey": key.as_dict(private=False),
                                           "challengeList": [{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}]}})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    return response.json()["response"]["certificate"]


def _portal_access_token(suite, person: dict) -> str:
    """The person signs in to the portal (authorization code, PIN) and the portal redeems the code."""
    with httpx.Client(base_url=suite["identity"]) as browser:
        page = browser.get("/authorize", params={"client_id": suite["portal_id"], "redirect_uri": CALLBACK, "response_type": "code",
                                                 "scope": "openid", "state": uuid.uuid4().hex, "nonce": uuid.uuid4().hex})
        assert page.status_code == 200, page.text
        transaction_id = re.search(r'name="transaction_id" value="([^"]+)"', page.text).group(1)
        step = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})
        assert step.status_code == 303, step.text
        if step.headers["location"].startswith("/authorize/consent"):
            offered = re.findall(r'name="claims" value="([^"]+)"', browser.get(step.headers["location"]).text)
            step = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow", "claims": offered})
            assert step.status_code == 303, step.text
    code = parse_qs(urlsplit(step.headers["location"]).query)["code"][0]
    now = int(time.time())
    token_url = f"{suite['identity']}/oauth/token"
    assertion = jwt.encode({"alg": "RS256", "kid": suite["portal_key"].kid}, {
        "iss": suite["portal_id"], "sub": suite["portal_id"], "aud": token_url, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex},
        suite["portal_key"])
    response = httpx.post(token_url, data={"grant_type": "authorization_code", "code": code, "client_id": suite["portal_id"],
                                           "redirect_uri": CALLBACK, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _attest(suite, access_token: str, certificate: str) -> httpx.Response:
    return httpx.post(f"{suite['identity']}/wallet-binding/attestation", headers={"Authorization": f"Bearer {access_token}"},
                      json={"certificate": certificate})


def _signing_key(key: ECKey, certificate: str, attestation: str) -> dict:
    return {"publicKeyJwk": key.as_dict(private=False), "publicKeyCertificate": certificate, "keyBindingAttestation": attestation}


def test_a_citizens_bound_key_signs_consent_and_no_one_else_can_register_it(suite):
    consent, oidc_issuer = suite["consent"], suite["oidc_issuer"]
    admin = {"Authorization": "Bearer " + oidc_issuer.token(sub="admin", audience="consent", roles=["admin"])}
    verifier = {"Authorization": "Bearer " + oidc_issuer.token(sub="gateway", audience="consent", roles=["verifier"])}
    policy = httpx.post(f"{consent}/config/policy/", headers=admin, json={"policy": {
        "name": "Policy", "version": "1.0", "url": f"https://example.la/{uuid.uuid4().hex}", "jurisdiction": "LA", "industrySector": "Public",
        "dataRetentionPeriodDays": 365}}).json()["policy"]
    agreement = httpx.post(f"{consent}/config/data-agreement/", headers=admin, json={"dataAgreement": {
        "version": "1.0", "purpose": "Share data with the paying agency", "lawfulBasis": "consent", "dpia": "", "policy": {"id": policy["id"]},
        "controller": {"name": "Ministry", "url": "https://molsw.gov.la"}, "dataUse": "data_using_service", "active": True,
        "forgettable": False, "dataAttributes": [{"name": "phone_number", "sensitivity": "personal", "category": "contact"}]}}
    ).json()["dataAgreement"]
    alice, bob = _enrol(suite), _enrol(suite)
    alice_key = ECKey.generate_key("P-256", private=True)
    alice_certificate = _bind_wallet_key(suite, alice, alice_key)
    alice_token, bob_token = _portal_access_token(suite, alice), _portal_access_token(suite, bob)
    as_alice, as_bob = {"Authorization": f"Bearer {alice_token}"}, {"Authorization": f"Bearer {bob_token}"}

    attested = _attest(suite, alice_token, alice_certificate)
    assert attested.status_code == 200, attested.text
    attestation = attested.json()["response"]["keyBindingAttestation"]
    registered = httpx.post(f"{consent}/service/individual/", headers=as_alice, json={
        "individual": _signing_key(alice_key, alice_certificate, attestation)})
    assert registered.status_code == 200, registered.text
    individual_id = registered.json()["individual"]["id"]
    draft = httpx.post(f"{consent}/service/individual/record/consent-record/draft/", headers=as_alice,
                       params={"individualId": individual_id, "dataAgreementId": agreement["id"]}).json()
    signed = jws.serialize_compact({"alg": "ES256"}, draft["signature"]["payload"].encode(), alice_key)
    stored = httpx.post(f"{consent}/service/individual/record/consent-record/", headers=as_alice, json={
        "consentRecord": draft["consentRecord"], "signature": {**draft["signature"], "signature": signed}})
    assert stored.status_code == 200, stored.text
    assert stored.json()["signature"]["verificationMethod"] == "jws-individual"
    assert httpx.get(f"{consent}/service/verification/consent-record/", headers=verifier,
                     params={"individualId": individual_id, "dataAgreementId": agreement["id"]}).json()["valid"] is True

    # Bob holds Alice's certificate and attestation: the Identity BB attests nothing for him, the Consent BB refuses.
    bob_attested = _attest(suite, bob_token, alice_certificate)
    bob_registered = httpx.post(f"{consent}/service/individual/", headers=as_bob, json={
        "individual": _signing_key(alice_key, alice_certificate, attestation)})

    assert (bob_attested.status_code, bob_attested.json()["errors"][0]["errorCode"]) == (403, "key_not_bound")
    assert (bob_registered.status_code, bob_registered.json()["error"]) == (403, "key_not_bound")
    assert httpx.get(f"{consent}/service/individuals/", headers=as_bob).json()["individuals"] == []
    assert httpx.get(f"{consent}/service/individual/{individual_id}/", headers=as_alice).json()["individual"]["publicKeyJwk"] == \
        alice_key.as_dict(private=False)
