"""The whole consent lifecycle over HTTP against PostgreSQL."""
from .api import create_agreement, create_policy, give_signed_consent, has_consent, ok, sign


def test_consent_is_given_verified_withdrawn_and_audited(client, admin, verifier, auditor, new_citizen):
    policy = create_policy(client, admin)
    agreement = create_agreement(client, admin, policy_id=policy["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()

    stored = give_signed_consent(client, citizen, agreement["id"])
    record_id = stored["consentRecord"]["id"]
    assert stored["consentRecord"]["state"] == "signed" and stored["consentRecord"]["optIn"] is True
    assert stored["signature"]["objectReference"] == stored["revision"]["id"]
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True

    withdrawn = ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                              json={"consentRecord": {"optIn": False}}))
    assert withdrawn["consentRecord"]["optIn"] is False
    assert withdrawn["revision"]["predecessorHash"] == stored["revision"]["serializedHash"]
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False

    audited = ok(client.get(f"/audit/consent-record/{record_id}/", headers=auditor))
    assert [r["id"] for r in audited["revisions"]] == [stored["revision"]["id"], withdrawn["revision"]["id"]]
    assert ok(client.get("/audit/verify/", headers=auditor, params={"schemaName": "ConsentRecord", "objectId": record_id}))["valid"] is True
    assert ok(client.get("/audit/verify/", headers=auditor))["valid"] is True


def test_the_stored_revision_is_exactly_the_signed_snapshot(client, admin, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()

    stored = give_signed_consent(client, citizen, agreement["id"])

    assert stored["revision"]["serializedSnapshot"] == stored["signature"]["verificationPayload"]
    assert stored["revision"]["signedWithoutObjectId"] is True


def test_an_unsigned_opt_in_becomes_consent_once_its_signature_is_attached(client, admin, verifier, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    created = ok(client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=citizen.headers,
                             params={"individualId": citizen.individual_id}))
    record_id = created["consentRecord"]["id"]
    assert created["consentRecord"]["state"] == "unsigned"
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False

    prepared = ok(client.post(f"/service/individual/record/consent-record/{record_id}/signature/", headers=citizen.headers,
                              json={"signature": {}}))["signature"]
    signed = ok(client.put(f"/service/individual/record/consent-record/{record_id}/signature/", headers=citizen.headers,
                           json={"signature": {"id": prepared["id"], "signature": sign(prepared["payload"], citizen.key)}}))

    assert signed["signature"]["objectReference"] == created["revision"]["id"]
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True


def test_the_service_signs_on_a_citizens_behalf(client, admin, verifier, tokens):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    headers = tokens("citizen", sub="citizen-without-key-" + agreement["id"][:8])
    individual = ok(client.post("/service/individual/", headers=headers, json={"individual": {}}))["individual"]
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=headers,
                           params={"individualId": individual["id"], "dataAgreementId": agreement["id"]}))
    assert draft["signature"]["verificationMethod"] == "jws-service"

    stored = ok(client.post("/service/individual/record/consent-record/", headers=headers,
                            json={"consentRecord": draft["consentRecord"], "signature": {**draft["signature"], "signature": None}}))

    assert stored["signature"]["verificationSignedAs"] == "delegate" and stored["signature"]["signature"].count(".") == 2
    assert has_consent(client, verifier, individual["id"], agreement["id"]) is True


def test_a_new_agreement_revision_needs_new_consent(client, admin, verifier, new_citizen):
    policy_id = create_policy(client, admin)["policy"]["id"]
    agreement = create_agreement(client, admin, policy_id=policy_id)["dataAgreement"]
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])

    ok(client.put(f"/config/data-agreement/{agreement['id']}/", headers=admin, json={"dataAgreement": {
        "version": "2.0", "purpose": "A wider purpose", "lawfulBasis": "consent", "dpia": "", "policy": {"id": policy_id}}}))

    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False
    give_signed_consent(client, citizen, agreement["id"])
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True


def test_policy_updates_are_revisions_chained_to_the_previous(client, admin):
    created = create_policy(client, admin)
    policy_id = created["policy"]["id"]

    updated = ok(client.put(f"/config/policy/{policy_id}/", headers=admin, json={"policy": {
        **created["policy"], "version": "1.1", "url": created["policy"]["url"] + "/1.1"}}))
    history = ok(client.get(f"/config/policy/{policy_id}/revisions/", headers=admin))["revisions"]
    old = ok(client.get(f"/config/policy/{policy_id}/", params={"revisionId": created["revision"]["id"]}))

    assert updated["revision"]["predecessorHash"] == created["revision"]["serializedHash"]
    assert [r["id"] for r in history] == [created["revision"]["id"], updated["revision"]["id"]]
    assert old["policy"]["version"] == "1.0"


def test_right_to_be_forgotten_deletes_records_of_forgettable_agreements_only(client, admin, verifier, new_citizen):
    policy_id = create_policy(client, admin)["policy"]["id"]
    forgettable = create_agreement(client, admin, policy_id=policy_id, forgettable=True)["dataAgreement"]
    kept = create_agreement(client, admin, policy_id=policy_id, forgettable=False)["dataAgreement"]
    citizen = new_citizen()
    forgotten_id = give_signed_consent(client, citizen, forgettable["id"])["consentRecord"]["id"]
    kept_id = give_signed_consent(client, citizen, kept["id"])["consentRecord"]["id"]

    deleted = ok(client.delete("/service/individual/record/", headers=citizen.headers))

    assert deleted["deletedConsentRecordIds"] == [forgotten_id]
    remaining = ok(client.get("/service/individual/record/consent-record/", headers=citizen.headers))["consentRecords"]
    assert [r["id"] for r in remaining] == [kept_id]
    assert has_consent(client, verifier, citizen.individual_id, forgettable["id"]) is False


def test_right_to_be_forgotten_keeps_a_withdrawn_once_signed_record_of_a_non_forgettable_agreement(client, admin, auditor,
                                                                                                 new_citizen):
    policy_id = create_policy(client, admin)["policy"]["id"]
    kept = create_agreement(client, admin, policy_id=policy_id, forgettable=False)["dataAgreement"]
    draft_only = create_agreement(client, admin, policy_id=policy_id, forgettable=False)["dataAgreement"]
    citizen = new_citizen()
    stored = give_signed_consent(client, citizen, kept["id"])
    kept_id = stored["consentRecord"]["id"]
    withdrawn = ok(client.put(f"/service/individual/record/consent-record/{kept_id}/", headers=citizen.headers,
                              json={"consentRecord": {"optIn": False}}))
    assert withdrawn["consentRecord"]["state"] == "unsigned"  # what forget used to go by
    never_signed_id = ok(client.post(f"/service/individual/record/data-agreement/{draft_only['id']}/", headers=citizen.headers,
                                     params={"individualId": citizen.individual_id}))["consentRecord"]["id"]
    ok(client.post(f"/service/individual/record/consent-record/{never_signed_id}/signature/", headers=citizen.headers,
                   json={"signature": {}}))  # prepared, never signed

    deleted = ok(client.delete("/service/individual/record/", headers=citizen.headers))

    assert deleted["deletedConsentRecordIds"] == [never_signed_id]
    audited = ok(client.get(f"/audit/consent-record/{kept_id}/", headers=auditor))
    assert [r["id"] for r in audited["revisions"]] == [stored["revision"]["id"], withdrawn["revision"]["id"]]
    assert ok(client.get("/audit/verify/", headers=auditor, params={"schemaName": "ConsentRecord", "objectId": kept_id}))["valid"] is True


def test_a_withdrawn_record_opted_in_again_is_consent_once_signed_again(client, admin, verifier, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    path = f"/service/individual/record/consent-record/{record_id}/"
    ok(client.put(path, headers=citizen.headers, json={"consentRecord": {"optIn": False}}))

    again = ok(client.put(path, headers=citizen.headers, json={"consentRecord": {"optIn": True}}))
    assert again["consentRecord"]["state"] == "unsigned"
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False
    prepared = ok(client.post(path + "signature/", headers=citizen.headers, json={"signature": {}}))["signature"]
    ok(client.put(path + "signature/", headers=citizen.headers, json={"signature": {"signature": sign(prepared["payload"], citizen.key)}}))

    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True
