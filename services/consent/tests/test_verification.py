"""The verification fast path: its answer, its access checks and its lean connection pool."""
import pytest
from sqlalchemy import text

from .api import create_agreement, create_policy, give_signed_consent, has_consent, ok

PATH = "/service/verification/consent-record/"


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]


def test_a_signed_opt_in_is_valid_consent_with_its_record_and_revision(client, verifier, agreement, new_citizen):
    citizen = new_citizen()
    record = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]

    body = ok(client.get(PATH, headers=verifier, params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}))

    assert body == {"valid": True, "consentRecordId": record["id"], "individualId": citizen.individual_id,
                    "dataAgreementId": agreement["id"], "dataAgreementRevisionId": record["dataAgreementRevisionId"]}


def test_an_individual_without_a_record_has_no_consent(client, verifier, agreement, new_citizen):
    citizen = new_citizen()

    body = ok(client.get(PATH, headers=verifier, params={"individualId": citizen.individual_id, "dataAgreementId": agreement["id"]}))

    assert body["valid"] is False and body["consentRecordId"] is None


def test_the_fast_path_needs_a_token(client, agreement):
    response = client.get(PATH, params={"individualId": "1", "dataAgreementId": agreement["id"]})

    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_the_fast_path_is_refused_to_a_citizen_token(client, tokens, agreement):
    response = client.get(PATH, headers=tokens("citizen"), params={"individualId": "1", "dataAgreementId": agreement["id"]})

    assert response.status_code == 403 and response.json()["error"] == "forbidden"


def test_the_fast_path_survives_the_database_dropping_its_connections(client, engine, verifier, agreement, new_citizen):
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"])  # the read pool now holds a connection

    with engine.connect() as connection:
        dropped = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()

    assert dropped >= 1
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"])


def test_percent_encoded_ids_are_read_as_sent(client, verifier, agreement, new_citizen):
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])
    encoded = "".join(f"%{ord(c):02X}" for c in citizen.individual_id)

    body = ok(client.get(f"{PATH}?individualId={encoded}&dataAgreementId={agreement['id']}", headers=verifier))

    assert (body["valid"], body["individualId"]) == (True, citizen.individual_id)


def test_an_encoded_id_that_is_not_an_id_is_refused(client, verifier, agreement):
    response = client.get(f"{PATH}?individualId=1%3BDROP&dataAgreementId={agreement['id']}", headers=verifier)

    assert response.status_code == 400 and response.json()["details"][0]["field"] == "individualId"
