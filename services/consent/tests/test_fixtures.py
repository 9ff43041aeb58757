"""The conformance and demo data sets, and the reads GovStack's compliance suite makes against them."""
import pytest

from consent.fixtures import FIXTURES
from kernel.app import load_fixtures
from .api import ok


@pytest.fixture(scope="module")
def seeded(settings, engine):
    for name in ("conformance", "demo", "conformance", "demo"):  # twice: loaders must be idempotent
        load_fixtures(engine, settings.model_copy(update={"fixtures": name}), FIXTURES)


def test_the_smoke_scenario_reads_policy_1_without_a_token(client, seeded):
    body = ok(client.get("/service/policy/1/"))

    assert isinstance(body["policy"], dict) and isinstance(body["revision"], dict)
    assert body["policy"]["id"] == "1"


def test_data_agreement_1_has_a_string_id_and_a_revision(client, seeded):
    body = ok(client.get("/config/data-agreement/1/"))

    assert body["dataAgreement"]["id"] == "1"
    assert body["revision"]["objectId"] == "1" and body["revision"]["schemaName"] == "DataAgreement"
    assert body["revision"]["authorizedByOther"]


def test_seeded_record_1_is_signed_valid_consent(client, seeded, verifier):
    body = ok(client.get("/service/verification/consent-record/", headers=verifier,
                        params={"individualId": "1", "dataAgreementId": "1"}))

    assert body == {**body, "valid": True, "consentRecordId": "1"}


def test_seeded_chains_verify(client, seeded, auditor):
    for schema, object_id in (("Policy", "1"), ("DataAgreement", "1"), ("ConsentRecord", "1")):
        report = ok(client.get("/audit/verify/", headers=auditor, params={"schemaName": schema, "objectId": object_id}))
        assert report["valid"] is True, report


def test_demo_has_an_agreement_per_bundled_e_service(client, seeded):
    agreements = ok(client.get("/config/data-agreements/", params={"limit": 1000}))["dataAgreement"]
    purposes = [a["purpose"] for a in agreements]

    assert any("enterprise registration" in p for p in purposes)
    assert any("paying agency" in p for p in purposes)


def test_loading_twice_leaves_one_copy(client, seeded, admin):
    policies = ok(client.get("/config/policies/", headers=admin, params={"limit": 1000}))["policies"]

    assert [p["id"] for p in policies].count("1") == 1
