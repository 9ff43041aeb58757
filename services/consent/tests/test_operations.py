"""The remaining OpenAPI operations: reads and lists by each role, deletes, individuals and webhooks."""
from datetime import datetime, timezone

import pytest

from .api import create_agreement, create_policy, give_signed_consent, ok


@pytest.fixture
def consent(client, admin, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    record = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]
    return agreement, citizen, record


def test_the_individual_reads_its_current_and_all_records_for_an_agreement(client, consent):
    agreement, citizen, record = consent

    current = ok(client.get(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=citizen.headers))
    every = ok(client.get(f"/service/individual/record/data-agreement/{agreement['id']}/all/", headers=citizen.headers))

    assert current["consentRecord"]["id"] == record["id"]
    assert [r["id"] for r in every["consentRecords"]] == [record["id"]]


def test_the_verifier_lists_and_reads_records(client, verifier, consent):
    agreement, citizen, record = consent

    listed = ok(client.get("/service/verification/consent-records/", headers=verifier,
                           params={"individualId": citizen.individual_id, "optIn": "true"}))
    read = ok(client.get(f"/service/verification/consent-record/{record['id']}/", headers=verifier))

    assert [r["id"] for r in listed["consentRecords"]] == [record["id"]]
    assert read["consentRecord"]["state"] == "signed" and read["revision"]["objectId"] == record["id"]


def test_the_auditor_lists_records_and_agreements_with_their_history(client, auditor, consent):
    agreement, citizen, record = consent

    records = ok(client.get("/audit/consent-records/", headers=auditor, params={"dataAgreementId": agreement["id"]}))
    agreements = ok(client.get("/audit/data-agreements/", headers=auditor, params={"limit": 1000}))
    audited = ok(client.get(f"/audit/data-agreement/{agreement['id']}/", headers=auditor))

    assert [r["id"] for r in records["consentRecords"]] == [record["id"]]
    assert datetime.fromisoformat(records["consentRecords"][0]["createdAt"]) <= datetime.now(timezone.utc)
    assert agreement["id"] in [a["id"] for a in agreements["dataAgreements"]]
    assert [r["schemaName"] for r in audited["revisions"]] == ["DataAgreement"]


def test_a_deleted_agreement_takes_no_consent_but_stays_auditable(client, admin, auditor, verifier, consent):
    agreement, citizen, record = consent

    deleted = ok(client.delete(f"/config/data-agreement/{agreement['id']}/", headers=admin))

    assert deleted["revision"]["objectId"] == agreement["id"]
    assert client.get(f"/config/data-agreement/{agreement['id']}/").status_code == 400
    assert client.get("/service/verification/consent-record/", headers=verifier,
                      params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}).status_code == 400
    assert ok(client.get(f"/audit/data-agreement/{agreement['id']}/", headers=auditor))["dataAgreement"]["deleted"] is True


def test_an_unused_policy_is_deleted_with_a_final_revision(client, admin):
    created = create_policy(client, admin)
    policy_id = created["policy"]["id"]

    deleted = ok(client.delete(f"/config/policy/{policy_id}/", headers=admin))

    assert deleted["revision"]["predecessorHash"] == created["revision"]["serializedHash"]
    assert client.get(f"/service/policy/{policy_id}/").status_code == 400
    assert policy_id not in [p["id"] for p in ok(client.get("/config/policies/", headers=admin, params={"limit": 1000}))["policies"]]


def test_service_policy_refuses_a_revision_that_is_not_current(client, admin):
    created = create_policy(client, admin)
    policy = created["policy"]
    ok(client.put(f"/config/policy/{policy['id']}/", headers=admin, json={"policy": {**policy, "version": "2.0", "url": policy["url"] + "/2"}}))

    response = client.get(f"/service/policy/{policy['id']}/", params={"revisionId": created["revision"]["id"]})

    assert response.status_code == 400
    assert response.json()["error"] == "revision_not_current"


def test_admin_manages_individuals(client, admin):
    created = ok(client.post("/config/individual/", headers=admin, json={"individual": {"externalId": "LA-001", "externalIdType": "foundational id"}}))
    individual_id = created["individual"]["id"]

    assert ok(client.get(f"/config/individual/{individual_id}/", headers=admin))["individual"]["externalIdType"] == "foundational id"
    assert individual_id in [i["id"] for i in ok(client.get("/config/individuals/", headers=admin, params={"limit": 1000}))["individuals"]]


def test_an_application_finds_or_creates_an_individual_by_external_id(client, tokens):
    application = tokens("application")
    body = {"individual": {"externalId": "app-ext-7f3a", "externalIdType": "email"}}

    first = ok(client.post("/service/individual/", headers=application, json=body))
    second = ok(client.post("/service/individual/", headers=application, json=body))
    updated = ok(client.put(f"/service/individual/{first['individual']['id']}/", headers=application,
                            json={"individual": {"externalId": "app-ext-7f3a", "externalIdType": "phone"}}))

    assert first["individual"]["id"] == second["individual"]["id"]
    assert updated["individual"]["externalIdType"] == "phone"


def test_an_application_cannot_register_a_signing_key_for_an_individual(client, tokens, new_citizen):
    citizen = new_citizen()

    response = client.put(f"/service/individual/{citizen.individual_id}/", headers=tokens("application"),
                          json={"individual": {"publicKeyJwk": citizen.key.as_dict(private=False)}})

    assert response.status_code == 403


def test_a_citizen_lists_only_itself(client, new_citizen):
    citizen = new_citizen()

    individuals = ok(client.get("/service/individuals/", headers=citizen.headers))["individuals"]

    assert [i["id"] for i in individuals] == [citizen.individual_id]


def test_admin_manages_webhooks(client, admin):
    body = {"webhook": {"payloadUrl": "https://hooks.example.la/consent", "secretKey": "s" * 32, "subscribedEvents": ["consent.record.given"]}}
    webhook_id = ok(client.post("/config/webhook/", headers=admin, json=body))["webhook"]["id"]

    updated = ok(client.put(f"/config/webhook/{webhook_id}/", headers=admin, json={"webhook": {**body["webhook"], "disabled": True}}))
    listed = ok(client.get("/config/webhooks/", headers=admin, params={"limit": 1000}))["webhooks"]
    ok(client.delete(f"/config/webhook/{webhook_id}/", headers=admin))

    assert updated["webhook"]["disabled"] is True and updated["webhook"]["subscribedEvents"] == ["consent.record.given"]
    assert webhook_id in [w["id"] for w in listed]
    assert client.get(f"/config/webhook/{webhook_id}/", headers=admin).status_code == 400


def test_a_webhook_needs_a_real_url_and_a_long_secret(client, admin):
    response = client.post("/config/webhook/", headers=admin, json={"webhook": {"payloadUrl": "ftp://x", "secretKey": "short"}})

    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"webhook.payloadUrl", "webhook.secretKey"}
