"""A row changed behind the service's back is found by the audit endpoint and the audit command."""
import json
import os
import subprocess
import sys

from sqlalchemy import text

from .api import create_agreement, create_policy, give_signed_consent, ok


def _consent_with_two_revisions(client, admin, new_citizen) -> tuple[str, list[dict]]:
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                  json={"consentRecord": {"optIn": False}}))
    return record_id, ok(client.get("/audit/revisions/", headers=admin, params={"schemaName": "ConsentRecord", "objectId": record_id}))["revisions"]


def _verify(client, auditor, record_id: str) -> dict:
    return ok(client.get("/audit/verify/", headers=auditor, params={"schemaName": "ConsentRecord", "objectId": record_id}))


def test_an_altered_revision_fails_verification_at_that_revision(client, admin, auditor, engine, new_citizen):
    record_id, revisions = _consent_with_two_revisions(client, admin, new_citizen)
    with engine.begin() as connection:
        connection.execute(text("UPDATE revision SET serialized_snapshot = replace(serialized_snapshot, :given, :refused) WHERE id = :id"),
                           {"given": '"optIn":true', "refused": '"optIn":false', "id": revisions[0]["id"]})

    report = _verify(client, auditor, record_id)

    assert report["valid"] is False
    assert report["broken"][0]["brokenRevisionId"] == revisions[0]["id"]
    assert report["broken"][0]["brokenPosition"] == 0


def test_an_altered_record_row_fails_verification_at_its_latest_revision(client, admin, auditor, engine, new_citizen):
    record_id, revisions = _consent_with_two_revisions(client, admin, new_citizen)
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_record SET opt_in = true WHERE id = :id"), {"id": record_id})

    report = _verify(client, auditor, record_id)

    assert report["broken"][0]["brokenRevisionId"] == revisions[1]["id"]
    assert report["broken"][0]["reason"] == "the stored object differs from its latest revision"


def test_the_audit_command_reports_the_first_broken_link(client, admin, settings, engine, new_citizen):
    record_id, revisions = _consent_with_two_revisions(client, admin, new_citizen)
    with engine.begin() as connection:
        connection.execute(text("UPDATE revision SET predecessor_hash = 'forged' WHERE id = :id"), {"id": revisions[1]["id"]})
    env = {**os.environ, "DATABASE_URL": settings.database_url, "LOG_FORMAT": "text"}

    result = subprocess.run([sys.executable, "-m", "consent.audit", "verify", "--schema-name", "ConsentRecord", "--object-id", record_id],
                            capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["broken"][0]["brokenRevisionId"] == revisions[1]["id"]


def test_the_audit_command_passes_an_untouched_chain(client, admin, settings, new_citizen):
    record_id, _ = _consent_with_two_revisions(client, admin, new_citizen)
    env = {**os.environ, "DATABASE_URL": settings.database_url}

    result = subprocess.run([sys.executable, "-m", "consent.audit", "verify", "--schema-name", "ConsentRecord", "--object-id", record_id],
                            capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_a_consistently_rehashed_forgery_is_caught_by_the_signature(client, admin, auditor, engine, new_citizen):
    """Someone with database access rewrites a signed snapshot and recomputes every hash; only the signature can tell."""
    from consent import chain, signing
    record_id, revisions = _consent_with_two_revisions(client, admin, new_citizen)
    forged = revisions[0]["serializedSnapshot"].replace('"optIn":true', '"optIn":false')
    forged_hash = chain.digest(forged)
    with engine.begin() as connection:
        connection.execute(text("UPDATE revision SET serialized_snapshot = :s, serialized_hash = :h WHERE id = :id"),
                           {"s": forged, "h": forged_hash, "id": revisions[0]["id"]})
        connection.execute(text("UPDATE revision SET predecessor_hash = :h WHERE id = :id"), {"h": forged_hash, "id": revisions[1]["id"]})
        signature = connection.execute(text("SELECT * FROM signature WHERE object_reference = :id"), {"id": revisions[0]["id"]}).mappings().one()
        payload = signing.signature_payload(
            verification_payload=forged, verification_payload_hash=forged_hash, verification_method=signature["verification_method"],
            verification_artifact=signature["verification_artifact"], verification_signed_by=signature["verification_signed_by"],
            verification_jws_header=None, timestamp=signature["timestamp"], signed_without_object_reference=True,
            object_type="revision", object_reference=None)
        connection.execute(text("UPDATE signature SET verification_payload = :s, verification_payload_hash = :h, payload = :p WHERE id = :id"),
                           {"s": forged, "h": forged_hash, "p": payload, "id": signature["id"]})

    report = _verify(client, auditor, record_id)

    assert report["broken"][0]["brokenRevisionId"] == revisions[0]["id"]
    assert report["broken"][0]["reason"] == "the signature over this revision does not verify"
