"""The citizen portal's "my consents": the exact calls the portal makes with the signed-in citizen's token.

The portal's tokens are issued by Identity for its client id `govstack-portal` (audience and client_id), with the citizen's
pairwise `sub`, an OIDC scope and no roles; the gateway forwards them unchanged.
"""
import base64
import secrets

import pytest

from consent.citizen_tokens import CitizenTokenVerifier, as_citizen
from kernel.auth import Caller, TokenVerifier

from .api import create_agreement, create_policy, has_consent, ok

PORTAL = "govstack-portal"


def pairwise_subject() -> str:
    """Shaped like the Identity BB's pairwise subjects (identity/tokens.py): base64url of a SHA-256 HMAC."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@pytest.fixture
def portal_token(oidc_issuer):
    def token(sub: str | None = None, **claims) -> dict:
        value = oidc_issuer.token(sub=sub or pairwise_subject(), audience=PORTAL, client_id=PORTAL,
                                  scopes=["openid", "profile"], **claims)
        return {"Authorization": f"Bearer {value}"}

    return token


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"],
                            purpose="Share your address with the social welfare office")["dataAgreement"]


def _individual(client, headers) -> dict:
    return ok(client.post("/service/individual/", headers=headers, json={"individual": {}}))["individual"]


def _give_consent(client, headers, individual_id, agreement_id) -> dict:
    """Draft, then store it signed by the service on the citizen's behalf (the citizen's token authorises it)."""
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=headers,
                           params={"individualId": individual_id, "dataAgreementId": agreement_id}))
    return ok(client.post("/service/individual/record/consent-record/", headers=headers,
                          json={"consentRecord": draft["consentRecord"], "signature": {**draft["signature"], "signature": None}}))


def test_the_portal_finds_or_creates_the_individual_of_its_citizen(client, portal_token):
    headers = portal_token()

    first, again = _individual(client, headers), _individual(client, headers)

    assert first["id"] == again["id"]


def test_a_citizen_gives_lists_and_withdraws_consent_through_the_portal(client, verifier, portal_token, agreement):
    headers = portal_token()
    individual_id = _individual(client, headers)["id"]
    assert ok(client.get(f"/service/data-agreement/{agreement['id']}/"))["dataAgreement"]["purpose"] == agreement["purpose"]

    stored = _give_consent(client, headers, individual_id, agreement["id"])
    assert stored["consentRecord"]["state"] == "signed" and stored["signature"]["verificationSignedAs"] == "delegate"
    assert has_consent(client, verifier, individual_id, agreement["id"]) is True

    mine = ok(client.get("/service/individual/record/consent-record/", headers=headers))["consentRecords"]
    assert [(r["id"], r["dataAgreementPurpose"], r["optIn"]) for r in mine] == [
        (stored["consentRecord"]["id"], "Share your address with the social welfare office", True)]
    assert mine[0]["createdAt"]

    withdrawn = ok(client.put(f"/service/individual/record/consent-record/{mine[0]['id']}/", headers=headers,
                              json={"consentRecord": {"optIn": False}}))
    assert withdrawn["consentRecord"]["optIn"] is False
    assert has_consent(client, verifier, individual_id, agreement["id"]) is False


def test_the_listed_purpose_is_the_one_agreed_to_even_after_the_agreement_changed(client, admin, portal_token, agreement):
    headers = portal_token()
    _give_consent(client, headers, _individual(client, headers)["id"], agreement["id"])

    ok(client.put(f"/config/data-agreement/{agreement['id']}/", headers=admin, json={"dataAgreement": {
        "version": "2.0", "purpose": "A wider purpose", "lawfulBasis": "consent", "dpia": "", "policy": agreement["policy"]}}))

    mine = ok(client.get("/service/individual/record/consent-record/", headers=headers))["consentRecords"]
    assert mine[0]["dataAgreementPurpose"] == "Share your address with the social welfare office"


def test_a_portal_token_reaches_only_its_own_citizens_records(client, portal_token, agreement):
    alice, bob = portal_token(), portal_token()
    alice_id = _individual(client, alice)["id"]
    record_id = _give_consent(client, alice, alice_id, agreement["id"])["consentRecord"]["id"]
    _individual(client, bob)

    listed = client.get("/service/individual/record/consent-record/", headers={**bob, "X-ConsentBB-IndividualId": alice_id})
    withdrawn = client.put(f"/service/individual/record/consent-record/{record_id}/", headers=bob, json={"consentRecord": {"optIn": False}})

    assert (listed.status_code, withdrawn.status_code) == (403, 403)


def test_roles_in_a_token_issued_only_for_the_portal_count_for_nothing(client, portal_token):
    headers = portal_token(roles=["admin"])

    response = client.post("/config/policy/", headers=headers, json={"policy": {
        "name": "Not allowed", "version": "1.0", "url": "https://example.la/policy/x"}})

    assert response.status_code == 403


def test_the_portals_own_client_token_acts_for_no_individual(client, portal_token):
    response = client.post("/service/individual/", headers=portal_token(sub=PORTAL), json={"individual": {}})

    assert response.status_code == 403


def test_a_portal_token_cannot_verify_consent(client, portal_token, agreement):
    response = client.get("/service/verification/consent-record/", headers=portal_token(),
                          params={"individualId": "1", "dataAgreementId": agreement["id"]})

    assert response.status_code == 403


def test_the_individual_of_a_citizen_is_named_by_the_subject_the_gateway_and_registration_send(client, verifier, portal_token, agreement):
    subject = pairwise_subject()
    headers = portal_token(sub=subject)

    individual = _individual(client, headers)
    _give_consent(client, headers, individual["id"], agreement["id"])

    assert individual["id"] == subject
    assert has_consent(client, verifier, subject, agreement["id"]) is True


def test_a_subject_equal_to_another_individuals_id_does_not_take_it_over(client, admin, portal_token):
    other = ok(client.post("/config/individual/", headers=admin, json={"individual": {"externalId": "someone-else"}}))["individual"]
    headers = portal_token(sub=other["id"])

    mine = _individual(client, headers)
    as_other = client.get(f"/service/individual/{other['id']}/", headers=headers)

    assert mine["id"] != other["id"]
    assert as_other.status_code == 403


def test_a_portal_audience_listed_in_oidc_audience_is_still_not_the_consent_bbs_own():
    verifier = CitizenTokenVerifier(TokenVerifier(issuers=[], audiences=["consent", PORTAL]), citizen_clients=[PORTAL],
                                    own_audiences=["consent", PORTAL])
    staff_via_portal = Caller(subject="staff-1", issuer="https://issuer", client_id=PORTAL, roles=frozenset({"admin"}),
                              claims={"aud": PORTAL})

    caller = as_citizen(staff_via_portal, citizen_clients=verifier.citizen_clients, own_audiences=verifier.own_audiences)

    assert verifier.own_audiences == {"consent"} and caller.roles == {"citizen"}


def test_a_staff_auditor_signed_in_through_the_portal_reads_the_audit_api_and_changes_nothing(client, portal_token, agreement):
    # Identity's staff login for the portal's consoles issues the token for the portal's client id alone, with the roles.
    headers = portal_token(sub="staff-auditor-1", roles=["auditor", "admin"])

    listed = client.get("/audit/data-agreements/", headers=headers)
    verified = client.get("/audit/verify/", headers=headers, params={"schemaName": "DataAgreement", "objectId": agreement["id"]})
    created = client.post("/config/policy/", headers=headers, json={"policy": {
        "name": "Not allowed", "version": "1.0", "url": "https://example.la/policy/x"}})

    assert listed.status_code == 200 and agreement["id"] in {a["id"] for a in listed.json()["dataAgreements"]}
    assert verified.status_code == 200 and verified.json()["valid"] is True
    assert created.status_code == 403  # the admin role of a token issued only for the portal still counts for nothing


def test_of_a_portal_staff_tokens_roles_only_the_auditors_counts():
    staff_via_portal = Caller(subject="staff-2", issuer="https://issuer", client_id=PORTAL,
                              roles=frozenset({"auditor", "admin", "verifier"}), scopes=frozenset({"individual"}), claims={"aud": PORTAL})
    other_client = Caller(subject="staff-3", issuer="https://issuer", client_id="another-app", roles=frozenset({"auditor"}),
                          claims={"aud": PORTAL})

    caller = as_citizen(staff_via_portal, citizen_clients=frozenset({PORTAL}), own_audiences=frozenset({"consent"}))
    other = as_citizen(other_client, citizen_clients=frozenset({PORTAL}), own_audiences=frozenset({"consent"}))

    assert caller.roles == {"auditor"} and caller.scopes == frozenset()
    assert other.roles == {"citizen"}  # only the portal's own user tokens carry a staff auditor
