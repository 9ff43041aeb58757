"""Who may do what: tokens and roles, and one individual never reaching another's records."""
import pytest

from .api import create_agreement, create_policy, give_signed_consent, ok


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]


def test_one_citizen_cannot_read_another_citizens_records(client, agreement, new_citizen):
    alice, bob = new_citizen(), new_citizen()
    give_signed_consent(client, alice, agreement["id"])
    bob_acting_as_alice = {**bob.headers, "X-ConsentBB-IndividualId": alice.individual_id}

    response = client.get("/service/individual/record/consent-record/", headers=bob_acting_as_alice)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_one_citizen_cannot_withdraw_another_citizens_record(client, agreement, new_citizen):
    alice, bob = new_citizen(), new_citizen()
    record_id = give_signed_consent(client, alice, agreement["id"])["consentRecord"]["id"]

    response = client.put(f"/service/individual/record/consent-record/{record_id}/", headers=bob.headers,
                          json={"consentRecord": {"optIn": False}})

    assert response.status_code == 403
    assert ok(client.get("/service/individual/record/consent-record/", headers=alice.headers))["consentRecords"][0]["optIn"] is True


def test_a_citizen_sees_only_its_own_records(client, agreement, new_citizen):
    alice, bob = new_citizen(), new_citizen()
    give_signed_consent(client, alice, agreement["id"])
    give_signed_consent(client, bob, agreement["id"])

    records = ok(client.get("/service/individual/record/consent-record/", headers=bob.headers))["consentRecords"]

    assert {r["individualId"] for r in records} == {bob.individual_id}


def test_an_application_acts_for_the_individual_it_names(client, agreement, tokens, new_citizen):
    alice = new_citizen()
    application = {**tokens("application"), "X-ConsentBB-IndividualId": alice.individual_id}

    created = ok(client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=application,
                             params={"individualId": alice.individual_id}))

    assert created["consentRecord"]["individualId"] == alice.individual_id
    assert created["revision"]["authorizedByIndividual"] == alice.individual_id


def test_an_application_lists_only_the_individuals_it_registered(client, oidc_issuer, new_citizen):
    def application(client_id: str) -> dict:
        token = oidc_issuer.token(sub=client_id, audience="consent", roles=["application"], client_id=client_id)
        return {"Authorization": f"Bearer {token}"}

    first, second = application("e-service-one"), application("e-service-two")
    mine = ok(client.post("/service/individual/", headers=first, json={"individual": {"externalId": "one-1", "externalIdType": "case"}}))
    theirs = ok(client.post("/service/individual/", headers=second, json={"individual": {"externalId": "two-1", "externalIdType": "case"}}))
    citizen = new_citizen()

    listed = ok(client.get("/service/individuals/", headers=first, params={"limit": 1000}))["individuals"]

    assert {i["id"] for i in listed} == {mine["individual"]["id"]}
    assert theirs["individual"]["id"] != mine["individual"]["id"] and citizen.individual_id not in {i["id"] for i in listed}


def test_published_policies_and_agreements_are_readable_without_a_token(client, agreement):
    policy_id = agreement["policy"]["id"]

    assert ok(client.get(f"/service/policy/{policy_id}/"))["policy"]["id"] == policy_id
    assert ok(client.get(f"/config/data-agreement/{agreement['id']}/"))["dataAgreement"]["id"] == agreement["id"]
    assert ok(client.get(f"/service/data-agreement/{agreement['id']}/"))["revision"]["objectId"] == agreement["id"]


def test_a_draft_agreement_is_not_readable_without_a_token(client, admin):
    draft = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"],
                             lifecycle={"name": "Draft"})["dataAgreement"]

    assert client.get(f"/config/data-agreement/{draft['id']}/").status_code == 401
    assert ok(client.get(f"/config/data-agreement/{draft['id']}/", headers=admin))["dataAgreement"]["lifecycle"]["name"] == "Draft"


@pytest.mark.parametrize("method,path", [
    ("POST", "/config/policy/"), ("POST", "/config/data-agreement/"), ("GET", "/config/individuals/"),
    ("GET", "/config/webhooks/"), ("GET", "/service/verification/consent-records/"), ("GET", "/audit/consent-records/"),
    ("GET", "/service/individual/record/consent-record/"),
])
def test_protected_operations_need_a_token(client, method, path):
    response = client.request(method, path, json={})

    assert response.status_code == 401
    assert response.json()["errorCode"] == 401


@pytest.mark.parametrize("role,method,path", [
    ("citizen", "POST", "/config/policy/"), ("verifier", "GET", "/config/webhooks/"), ("auditor", "POST", "/config/data-agreement/"),
    ("citizen", "GET", "/service/verification/consent-records/"), ("citizen", "GET", "/audit/consent-records/"),
    ("verifier", "GET", "/audit/consent-records/"), ("auditor", "GET", "/service/individual/record/consent-record/"),
])
def test_roles_grant_only_their_operations(client, tokens, role, method, path):
    assert client.request(method, path, headers=tokens(role), json={}).status_code == 403


def test_the_auditor_cannot_change_anything(client, tokens, agreement):
    auditor = tokens("auditor")

    assert client.put(f"/config/data-agreement/{agreement['id']}/", headers=auditor, json={}).status_code == 403
    assert client.delete(f"/config/data-agreement/{agreement['id']}/", headers=auditor).status_code == 403
