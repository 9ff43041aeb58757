"""Bad input gets a 400 in the spec's shape, and nothing stored changes."""
import httpx
import pytest

from consent.app import create_app
from kernel.testing import serve

from .api import create_agreement, create_policy, give_signed_consent, has_consent, ok, sign


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]


def _records(client, citizen) -> list[dict]:
    return ok(client.get("/service/individual/record/consent-record/", headers=citizen.headers))["consentRecords"]


@pytest.mark.parametrize("bad_id", ["invalid_id", "123%21%40%23", "-1", "1;DROP"])
def test_ids_that_are_not_ids_are_refused(client, bad_id):
    response = client.get(f"/config/data-agreement/{bad_id}/")

    assert response.status_code == 400
    assert response.json()["errorCode"] == 400


def test_an_unknown_id_is_a_bad_input_parameter(client):
    response = client.get("/service/policy/99999999/")

    assert response.status_code == 400
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("body", [
    {}, {"policy": "x"}, {"policy": {"name": "n", "version": "1"}},
    {"policy": {"name": "n", "version": "1", "url": "not a url"}},
    {"policy": {"name": "n", "version": "1", "url": "https://x.la", "dataRetentionPeriodDays": "ten"}},
])
def test_malformed_policies_are_refused(client, admin, body):
    response = client.post("/config/policy/", headers=admin, json=body)

    assert response.status_code == 400
    assert response.json()["details"]


def test_an_unknown_lawful_basis_is_refused(client, admin):
    policy_id = create_policy(client, admin)["policy"]["id"]

    response = client.post("/config/data-agreement/", headers=admin, json={"dataAgreement": {
        "version": "1", "purpose": "p", "lawfulBasis": "because", "dpia": "", "policy": {"id": policy_id}}})

    assert response.status_code == 400


def test_a_body_that_is_not_json_is_refused(client, admin):
    response = client.post("/config/policy/", headers={**admin, "Content-Type": "application/json"}, content=b"{not json")

    assert response.status_code == 400


def test_no_record_for_an_inactive_agreement(client, admin, new_citizen):
    inactive = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"], active=False)["dataAgreement"]
    citizen = new_citizen()

    response = client.post(f"/service/individual/record/data-agreement/{inactive['id']}/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id})

    assert response.status_code == 400
    assert response.json()["error"] == "agreement_inactive"
    assert _records(client, citizen) == []


def test_a_second_record_for_the_same_agreement_revision_is_refused(client, agreement, new_citizen):
    citizen = new_citizen()
    first = give_signed_consent(client, citizen, agreement["id"])

    response = client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id})

    assert response.status_code == 400
    assert response.json()["error"] == "record_exists"
    assert [r["id"] for r in _records(client, citizen)] == [first["consentRecord"]["id"]]


def test_a_stale_agreement_revision_is_refused(client, agreement, new_citizen):
    citizen = new_citizen()

    response = client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "revisionId": "00000000-0000-4000-8000-000000000000"})

    assert response.status_code == 400
    assert response.json()["error"] == "revision_not_current"


def test_a_signature_that_does_not_verify_is_refused_and_nothing_is_stored(client, agreement, verifier, new_citizen):
    citizen, stranger = new_citizen(), new_citizen()
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}))
    forged = {**draft["signature"], "signature": sign(draft["signature"]["payload"], stranger.key)}

    response = client.post("/service/individual/record/consent-record/", headers=citizen.headers,
                           json={"consentRecord": draft["consentRecord"], "signature": forged})

    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"
    assert _records(client, citizen) == []
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False


def test_a_signed_payload_for_another_record_is_refused(client, agreement, new_citizen):
    citizen = new_citizen()
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}))
    signature = {**draft["signature"], "signature": sign(draft["signature"]["payload"], citizen.key)}

    response = client.post("/service/individual/record/consent-record/", headers=citizen.headers,
                           json={"consentRecord": {**draft["consentRecord"], "optIn": False}, "signature": signature})

    assert response.status_code == 400
    assert response.json()["error"] == "payload_mismatch"
    assert _records(client, citizen) == []


def test_a_withdrawn_record_cannot_be_signed_as_consent(client, agreement, verifier, new_citizen):
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                  json={"consentRecord": {"optIn": False}}))

    response = client.post(f"/service/individual/record/consent-record/{record_id}/signature/", headers=citizen.headers,
                           json={"signature": {}})

    assert response.status_code == 400
    assert response.json()["error"] == "record_withdrawn"
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False


def test_only_opt_in_of_a_record_may_change(client, agreement, new_citizen):
    citizen = new_citizen()
    record = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]

    response = client.put(f"/service/individual/record/consent-record/{record['id']}/", headers=citizen.headers,
                          json={"consentRecord": {"optIn": False, "dataAgreementId": "1"}})

    assert response.status_code == 400
    assert _records(client, citizen)[0]["optIn"] is True


def test_opt_in_must_be_a_boolean(client, agreement, new_citizen):
    citizen = new_citizen()
    record = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]

    response = client.put(f"/service/individual/record/consent-record/{record['id']}/", headers=citizen.headers,
                          json={"consentRecord": {"optIn": "no"}})

    assert response.status_code == 400
    assert _records(client, citizen)[0]["optIn"] is True


def test_a_policy_in_use_cannot_be_deleted(client, admin, agreement):
    response = client.delete(f"/config/policy/{agreement['policy']['id']}/", headers=admin)

    assert response.status_code == 400
    assert response.json()["error"] == "policy_in_use"
    assert ok(client.get(f"/service/policy/{agreement['policy']['id']}/"))["policy"]["id"] == agreement["policy"]["id"]


def test_a_private_key_is_not_accepted_as_a_signing_key(client, tokens):
    from joserfc.jwk import ECKey
    headers = tokens("citizen", sub="citizen-private-key")

    response = client.post("/service/individual/", headers=headers, json={"individual": {
        "publicKeyJwk": ECKey.generate_key("P-256", private=True).as_dict(private=True)}})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_key"


def test_an_old_draft_cannot_be_stored(client, agreement, new_citizen):
    """The signed snapshot becomes the revision as is, so a backdated draft must not become history."""
    import json

    from consent import chain
    citizen = new_citizen()
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}))
    snapshot = json.loads(draft["signature"]["verificationPayload"])
    backdated = chain.canonical_json({**snapshot, "timestamp": "2020-01-01T00:00:00.000000+00:00"})
    signature = {**draft["signature"], "verificationPayload": backdated, "verificationPayloadHash": chain.digest(backdated), "payload": None}

    response = client.post("/service/individual/record/consent-record/", headers=citizen.headers,
                           json={"consentRecord": draft["consentRecord"], "signature": signature})

    assert response.status_code == 400
    assert response.json()["error"] == "draft_expired"
    assert _records(client, citizen) == []


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_a_weak_rsa_key_is_not_accepted_as_a_signing_key(client, tokens):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey
    weak = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=1024))

    response = client.post("/service/individual/", headers=tokens("citizen", sub="citizen-weak-key"),
                           json={"individual": {"publicKeyJwk": weak.as_dict(private=False)}})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_key"


def test_individual_ids_that_disagree_are_refused(client, agreement, tokens, new_citizen):
    alice, bob = new_citizen(), new_citizen()
    application = {**tokens("application"), "X-ConsentBB-IndividualId": alice.individual_id}

    response = client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=application,
                           params={"individualId": bob.individual_id})

    assert response.status_code == 400
    assert _records(client, alice) == [] and _records(client, bob) == []


def test_a_service_signature_cannot_claim_the_individual_signed(client, agreement, verifier, tokens):
    headers = tokens("citizen", sub="citizen-claims-individual-" + agreement["id"][:8])
    individual = ok(client.post("/service/individual/", headers=headers, json={"individual": {}}))["individual"]
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=headers,
                           params={"individualId": individual["id"], "dataAgreementId": agreement["id"]}))
    assert draft["signature"]["verificationMethod"] == "jws-service"
    claimed = {**draft["signature"], "signature": None, "verificationSignedAs": "individual"}

    response = client.post("/service/individual/record/consent-record/", headers=headers,
                           json={"consentRecord": draft["consentRecord"], "signature": claimed})

    assert response.status_code == 400
    assert response.json()["error"] == "signed_as_mismatch"
    assert ok(client.get("/service/individual/record/consent-record/", headers=headers))["consentRecords"] == []
    assert has_consent(client, verifier, individual["id"], agreement["id"]) is False


def test_an_individual_signature_cannot_be_prepared_as_a_delegates(client, agreement, new_citizen):
    citizen = new_citizen()
    record_id = ok(client.post(f"/service/individual/record/data-agreement/{agreement['id']}/", headers=citizen.headers,
                               params={"individualId": citizen.individual_id}))["consentRecord"]["id"]

    response = client.post(f"/service/individual/record/consent-record/{record_id}/signature/", headers=citizen.headers,
                           json={"signature": {"verificationMethod": "jws-individual", "verificationSignedAs": "delegate"}})

    assert response.status_code == 400
    assert response.json()["error"] == "signed_as_mismatch"
    prepared = ok(client.post(f"/service/individual/record/consent-record/{record_id}/signature/", headers=citizen.headers,
                              json={"signature": {"verificationMethod": "jws-individual"}}))["signature"]
    assert prepared["verificationSignedAs"] == "individual"


@pytest.fixture(scope="module")
def sqlite_client(settings, tmp_path_factory):
    """The API on SQLite, as `make run` starts it: there an offset beyond 64 bits overflowed the driver (a 500)."""
    sqlite = settings.model_copy(update={"database_url": "", "data_dir": tmp_path_factory.mktemp("consent-sqlite-paging")})
    with serve(create_app(sqlite)) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


@pytest.fixture(params=["postgresql", "sqlite"])
def any_database_client(request, client):
    return client if request.param == "postgresql" else request.getfixturevalue("sqlite_client")


@pytest.mark.parametrize("params", [{"offset": "99999999999999999999"}, {"offset": str(2**31)}, {"offset": "-1"},
                                    {"limit": "99999999999999999999"}, {"limit": "0"}])
def test_paging_out_of_bounds_is_a_bad_input_parameter(any_database_client, admin, params):
    response = any_database_client.get("/config/policies/", headers=admin, params=params)

    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == 400
    assert {d["field"] for d in response.json()["details"]} == set(params)


def test_the_largest_offset_is_an_empty_page(any_database_client, admin):
    assert ok(any_database_client.get("/config/policies/", headers=admin, params={"offset": str(2**31 - 1)}))["policies"] == []
