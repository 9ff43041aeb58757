"""The revision history against someone who can write the database but lacks AUDIT_KEY_SECRET: every revision is sealed
with a key stored only under that secret, so rewritten and rehashed history, a consent pointing at a rewritten agreement
revision, or a planted key are all reported; a deleted tail of a chain shows against an auditor's checkpoint."""
import base64
import json
import os
import subprocess
import sys
import uuid

import pytest
from cryptography.fernet import Fernet
from joserfc.jwk import ECKey
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session, select

from consent import chain, integrity, revisions, seal
from consent.app import create_app
from consent.enums import SchemaName
from consent.models import AuditKey, Policy, Revision
from consent.settings import ConsentSettings
from kernel.db import make_engine, migrate, migrations_config
from kernel.testing import serve

from .api import create_agreement, create_policy, give_signed_consent, ok


@pytest.fixture(scope="module")
def settings(infrastructure, oidc_issuer, tmp_path_factory) -> ConsentSettings:
    """A service of its own: these tests leave broken history behind, which whole-database checks elsewhere must not see."""
    return ConsentSettings(database_url=infrastructure.new_database("consent_seal"), amqp_url=infrastructure.new_vhost("consent_seal"),
                           oidc_issuers=[oidc_issuer.url], environment="test", data_dir=tmp_path_factory.mktemp("consent-seal"))


@pytest.fixture(scope="module")
def base_url(settings) -> str:
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def engine(settings, base_url):
    engine = make_engine(settings)
    yield engine
    engine.dispose()


def _run(settings, *args: str, secret: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "LOG_FORMAT": "text"}
    if secret is not None:
        env["AUDIT_KEY_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "consent.audit", *args], capture_output=True, text=True, env=env, timeout=120)


def _verify(client, auditor, schema: str, object_id: str, checkpoint: dict | None = None) -> dict:
    params = {"schemaName": schema, "objectId": object_id}
    if checkpoint is None:
        return ok(client.get("/audit/verify/", headers=auditor, params=params))
    return ok(client.post("/audit/verify/", headers=auditor, params=params, json=checkpoint))


def _history(client, admin, schema: str, object_id: str) -> list[dict]:
    return ok(client.get("/audit/revisions/", headers=admin, params={"schemaName": schema, "objectId": object_id}))["revisions"]


def _rehash(connection, revisions: list[dict], position: int, forged: str) -> None:
    """Rewrite one snapshot and recompute its hash and its successor's link to it, as an intruder would."""
    forged_hash = chain.digest(forged)
    connection.execute(text("UPDATE revision SET serialized_snapshot = :s, serialized_hash = :h WHERE id = :id"),
                       {"s": forged, "h": forged_hash, "id": revisions[position]["id"]})
    if position + 1 < len(revisions):
        connection.execute(text("UPDATE revision SET predecessor_hash = :h WHERE id = :id"),
                           {"h": forged_hash, "id": revisions[position + 1]["id"]})


@pytest.fixture
def withdrawn_consent(client, admin, new_citizen):
    """A signed consent, then withdrawn: two revisions."""
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = new_citizen()
    record = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]
    ok(client.put(f"/service/individual/record/consent-record/{record['id']}/", headers=citizen.headers,
                  json={"consentRecord": {"optIn": False}}))
    return agreement, citizen, record


@pytest.fixture
def revised_policy(client, admin):
    policy = create_policy(client, admin)["policy"]
    ok(client.put(f"/config/policy/{policy['id']}/", headers=admin, json={"policy": {
        "name": policy["name"], "version": "2.0", "url": f"https://example.la/policy/{uuid.uuid4().hex}", "jurisdiction": "LA"}}))
    return policy["id"], _history(client, admin, "Policy", policy["id"])


def test_every_revision_is_sealed_and_an_untouched_history_verifies(client, admin, auditor, settings, revised_policy, withdrawn_consent):
    policy_id, history = revised_policy
    _, _, record = withdrawn_consent

    assert _verify(client, auditor, "Policy", policy_id)["valid"] is True
    assert _verify(client, auditor, "ConsentRecord", record["id"])["valid"] is True
    result = _run(settings, "verify", "--schema-name", "Policy", "--object-id", policy_id)
    assert result.returncode == 0, result.stdout + result.stderr


def test_probe_a_a_deleted_withdrawal_with_the_row_left_alone_is_found(client, admin, auditor, engine, withdrawn_consent):
    _, _, record = withdrawn_consent
    history = _history(client, admin, "ConsentRecord", record["id"])
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM revision WHERE id = :id"), {"id": history[-1]["id"]})

    broken = _verify(client, auditor, "ConsentRecord", record["id"])["broken"][0]

    # The forward link of the revision before still names the deleted one.
    assert (broken["brokenRevisionId"], broken["reason"]) == (history[0]["id"], "the latest revision names a successor that is not there")
    with engine.begin() as connection:
        connection.execute(text("UPDATE revision SET successor_id = NULL WHERE id = :id"), {"id": history[0]["id"]})

    broken = _verify(client, auditor, "ConsentRecord", record["id"])["broken"][0]

    assert broken["reason"] == "the stored object differs from its latest revision"  # the row still says withdrawn


def test_probe_a_a_deleted_withdrawal_with_the_row_restored_shows_against_a_checkpoint(
        client, admin, auditor, engine, settings, tmp_path, withdrawn_consent):
    _, _, record = withdrawn_consent
    history = _history(client, admin, "ConsentRecord", record["id"])
    checkpoint = ok(client.get("/audit/checkpoint/", headers=auditor, params={"schemaName": "ConsentRecord"}))
    command_checkpoint = _run(settings, "checkpoint", "--schema-name", "ConsentRecord")
    assert command_checkpoint.returncode == 0, command_checkpoint.stderr
    (tmp_path / "checkpoint.json").write_text(command_checkpoint.stdout)
    with engine.begin() as connection:
        signature_id = connection.execute(text("SELECT id FROM signature WHERE consent_record_id = :id AND signature IS NOT NULL"),
                                          {"id": record["id"]}).scalar_one()
        connection.execute(text("DELETE FROM revision WHERE id = :id"), {"id": history[-1]["id"]})
        connection.execute(text("UPDATE revision SET successor_id = NULL WHERE id = :id"), {"id": history[0]["id"]})
        connection.execute(text("UPDATE consent_record SET opt_in = true, state = 'signed', signature_id = :s WHERE id = :id"),
                           {"s": signature_id, "id": record["id"]})

    # What is left in the database is a consistent, sealed history of a given consent: nothing in it shows the loss.
    assert _verify(client, auditor, "ConsentRecord", record["id"])["valid"] is True
    broken = _verify(client, auditor, "ConsentRecord", record["id"], checkpoint)["broken"][0]
    assert broken["brokenRevisionId"] == history[-1]["id"] and broken["brokenPosition"] == 1
    assert broken["reason"].startswith("the chain ends before revision 2")
    result = _run(settings, "verify", "--schema-name", "ConsentRecord", "--object-id", record["id"],
                  "--checkpoint", str(tmp_path / "checkpoint.json"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["broken"][0]["brokenRevisionId"] == history[-1]["id"]


def test_probe_b_a_rewritten_and_rehashed_policy_revision_breaks_its_seal(client, admin, auditor, engine, settings, revised_policy):
    policy_id, history = revised_policy
    with engine.begin() as connection:
        _rehash(connection, history, 0, history[0]["serializedSnapshot"].replace('"version":"1.0"', '"version":"0.9"'))

    broken = _verify(client, auditor, "Policy", policy_id)["broken"][0]

    assert (broken["brokenRevisionId"], broken["brokenPosition"]) == (history[0]["id"], 0)
    assert broken["reason"] == "the revision's seal covers another revision, place, hash or predecessor"
    result = _run(settings, "verify", "--schema-name", "Policy", "--object-id", policy_id)
    assert result.returncode == 1
    assert json.loads(result.stdout)["broken"][0]["brokenRevisionId"] == history[0]["id"]


def test_probe_c_a_consent_to_a_rewritten_agreement_revision_is_found(client, admin, auditor, engine, settings, withdrawn_consent):
    agreement, _, record = withdrawn_consent
    agreement_history = _history(client, admin, "DataAgreement", agreement["id"])
    forged = agreement_history[0]["serializedSnapshot"].replace("Share data with the paying agency", "Sell data to anyone")
    assert forged != agreement_history[0]["serializedSnapshot"]
    with engine.begin() as connection:
        _rehash(connection, agreement_history, 0, forged)
        connection.execute(text("UPDATE data_agreement SET purpose = 'Sell data to anyone' WHERE id = :id"), {"id": agreement["id"]})

    record_report = _verify(client, auditor, "ConsentRecord", record["id"])["broken"][0]
    agreement_report = _verify(client, auditor, "DataAgreement", agreement["id"])["broken"][0]

    assert record_report["brokenPosition"] == 0
    assert record_report["reason"] == "the data agreement revision it names does not have the hash consented to"
    assert agreement_report["brokenRevisionId"] == agreement_history[0]["id"]
    assert agreement_report["reason"].startswith("the revision's seal")
    result = _run(settings, "verify", "--schema-name", "ConsentRecord", "--object-id", record["id"])
    assert result.returncode == 1
    assert json.loads(result.stdout)["broken"][0]["reason"] == record_report["reason"]


def test_a_signed_record_whose_signatures_were_deleted_is_found(client, admin, auditor, engine, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    record = give_signed_consent(client, new_citizen(), agreement["id"])["consentRecord"]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM signature WHERE consent_record_id = :id"), {"id": record["id"]})

    broken = _verify(client, auditor, "ConsentRecord", record["id"])["broken"][0]

    assert broken["reason"] == "the record is signed but no signature over its revisions is stored"


def test_a_forgotten_record_is_told_from_a_deleted_one_by_its_sealed_receipt(client, admin, auditor, engine, new_citizen):
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"], forgettable=True)["dataAgreement"]
    forgotten_by, deleted_by = new_citizen(), new_citizen()
    forgotten = give_signed_consent(client, forgotten_by, agreement["id"])["consentRecord"]["id"]
    deleted = give_signed_consent(client, deleted_by, agreement["id"])["consentRecord"]["id"]
    checkpoint = ok(client.get("/audit/checkpoint/", headers=auditor, params={"schemaName": "ConsentRecord"}))
    erased = ok(client.delete("/service/individual/record/", headers=forgotten_by.headers))
    assert erased["deletedConsentRecordIds"] == [forgotten]
    with engine.begin() as connection:  # the same, behind the service's back
        for table, column in (("signature", "consent_record_id"), ("revision", "object_id"), ("consent_record", "id")):
            connection.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": deleted})

    assert _verify(client, auditor, "ConsentRecord", forgotten, checkpoint)["valid"] is True
    broken = _verify(client, auditor, "ConsentRecord", deleted, checkpoint)["broken"][0]
    assert broken["reason"].startswith("the chain ends before revision 1")
    with engine.begin() as connection:  # a receipt cannot be made up without the audit key
        connection.execute(text("INSERT INTO erased_chain (schema_name, object_id, number, revision_id, erased_at, seal) "
                                "SELECT schema_name, :other, number, revision_id, erased_at, seal FROM erased_chain WHERE object_id = :id"),
                           {"other": deleted, "id": forgotten})
    assert _verify(client, auditor, "ConsentRecord", deleted, checkpoint)["valid"] is False


def _plant_key(engine) -> ECKey:
    """An intruder's own key, stored as the service stores its own but sealed under a secret of the intruder's."""
    key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256"})
    intruder = Fernet(base64.urlsafe_b64encode(b"i" * 32))
    with Session(engine) as session:
        session.add(AuditKey(kid=key.kid, public_jwk=key.as_dict(private=False),
                             sealed_private_jwk=intruder.encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()))
        session.commit()
    return key


def _reseal(engine, revision_id: str, key: ECKey) -> None:
    with Session(engine) as session:
        revision = session.exec(select(Revision).where(Revision.id == revision_id)).one()
        revision.seal = seal.sign(seal.revision_payload(revision), key)
        session.add(revision)
        session.commit()


def test_a_history_resealed_with_a_planted_key_is_refused(client, admin, auditor, engine, settings, tmp_path, revised_policy):
    policy_id, history = revised_policy
    keys = ok(client.get("/audit/keys/", headers=auditor))
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    planted = _plant_key(engine)
    try:
        with engine.begin() as connection:
            _rehash(connection, history, 0, history[0]["serializedSnapshot"].replace('"version":"1.0"', '"version":"0.9"'))
        for revision in history:
            _reseal(engine, revision["id"], planted)

        broken = _verify(client, auditor, "Policy", policy_id)["broken"][0]

        assert broken["brokenRevisionId"] == history[0]["id"]
        assert broken["reason"] == "the revision's seal is made with a key that does not open with AUDIT_KEY_SECRET (nor is trusted)"
        assert planted.kid not in {key["kid"] for key in ok(client.get("/audit/keys/", headers=auditor))["keys"]}
        result = _run(settings, "verify", "--schema-name", "Policy", "--object-id", policy_id, "--trusted-keys", str(tmp_path / "keys.json"))
        assert result.returncode == 1
        # The service goes on sealing with its own key: a planted key that does not open is passed over.
        seal.forget_cached_keys()
        fresh = create_policy(client, admin)["policy"]["id"]
        assert _verify(client, auditor, "Policy", fresh)["valid"] is True
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_key WHERE kid = :kid"), {"kid": planted.kid})


def test_an_auditor_verifies_with_the_exported_public_keys_alone(client, auditor, settings, tmp_path, revised_policy):
    policy_id, _ = revised_policy
    (tmp_path / "keys.json").write_text(_run(settings, "keys").stdout)
    assert all("d" not in key for key in json.loads((tmp_path / "keys.json").read_text())["keys"])
    wrong = "not the service's secret"

    trusted = _run(settings, "verify", "--schema-name", "Policy", "--object-id", policy_id, "--trusted-keys", str(tmp_path / "keys.json"),
                   secret=wrong)
    untrusted = _run(settings, "verify", "--schema-name", "Policy", "--object-id", policy_id, secret=wrong)

    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert untrusted.returncode == 1  # without the secret, and without keys from the auditor, no seal is trusted
    assert "does not open with AUDIT_KEY_SECRET" in json.loads(untrusted.stdout)["broken"][0]["reason"]


def test_a_forged_or_altered_checkpoint_is_refused(client, auditor, revised_policy):
    policy_id, history = revised_policy
    checkpoint = ok(client.get("/audit/checkpoint/", headers=auditor, params={"schemaName": "Policy"}))
    altered = json.loads(json.dumps(checkpoint))
    entry = next(c for c in altered["checkpoint"]["chains"] if c["objectId"] == policy_id)
    entry["number"] = 5
    forger = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex})
    forged = {"checkpoint": altered["checkpoint"], "signature": seal.sign(chain.canonical_json(altered["checkpoint"]), forger)}

    for document in (altered, forged, {"checkpoint": {}, "signature": "not a jws"}):
        response = client.post("/audit/verify/", headers=auditor, params={"schemaName": "Policy", "objectId": policy_id}, json=document)
        assert response.status_code == 400, response.text
    assert client.post("/audit/verify/", headers=auditor, json={"nothing": 1}).status_code in (400, 422)
    assert _verify(client, auditor, "Policy", policy_id, checkpoint)["valid"] is True


def test_a_row_without_any_revision_is_reported(client, auditor, engine):
    policy_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO policy (id, name, version, url, deleted) VALUES (:id, 'Planted', '1', 'https://x.la', false)"),
                           {"id": policy_id})

    report = _verify(client, auditor, "Policy", policy_id)["broken"][0]
    whole = ok(client.get("/audit/verify/", headers=auditor, params={"schemaName": "Policy"}))

    assert report["reason"] == "the object has no revisions"
    assert policy_id in {b["objectId"] for b in whole["broken"]}
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM policy WHERE id = :id"), {"id": policy_id})


@pytest.fixture
def legacy_engine(infrastructure):
    """A database of its own, as it was before revisions were sealed: the one-time sealing is its first audit key."""
    engine = make_engine(ConsentSettings(database_url=infrastructure.new_database(f"legacy_{uuid.uuid4().hex[:6]}")))
    migrate(engine, "consent.migrations")
    yield engine
    seal.forget_cached_keys()
    engine.dispose()


def _legacy_policy(session: Session, name: str) -> Policy:
    policy = Policy(name=name, version="1", url="https://example.la/p")
    session.add(policy)
    session.flush()
    revisions.append(session, schema_name=SchemaName.policy.value, object_id=policy.id, object_data=revisions.policy_data(policy))
    return policy


def test_revisions_from_before_sealing_are_sealed_once_and_only_where_the_chain_verifies(legacy_engine):
    with Session(legacy_engine) as session:
        good, bad = _legacy_policy(session, "kept"), _legacy_policy(session, "tampered")
        session.commit()
        good_id, bad_id = good.id, bad.id
    with legacy_engine.begin() as connection:  # back to before the upgrade: no key, no seals; one chain altered meanwhile
        connection.execute(text("UPDATE revision SET seal = NULL"))
        connection.execute(text("DELETE FROM audit_key"))
        connection.execute(text("UPDATE policy SET name = 'changed behind its back' WHERE id = :id"), {"id": bad_id})
    seal.forget_cached_keys()

    with Session(legacy_engine) as session:
        revisions.audit_key(session)  # what the API's start-up does: a key, but no sealing of what came before
        session.commit()
    with Session(legacy_engine) as session:
        assert all(r.seal is None for r in session.exec(select(Revision)))
        integrity.seal_legacy(session, revisions.audit_key(session))  # the operator's `python -m consent.audit seal-legacy`
        session.commit()
    with Session(legacy_engine) as session:
        keys = seal.trusted_keys(session)
        sealed = {r.object_id: r.seal for r in session.exec(select(Revision))}
        reports = {o: integrity.verify_object(session, schema_name="Policy", object_id=o, keys=keys) for o in (good_id, bad_id)}

    assert sealed[good_id] and sealed[bad_id] is None
    assert reports[good_id].valid
    assert reports[bad_id].reason == "the revision is not sealed"
    # Revisions unsealed later (by an intruder, even one who also empties the key table) are never sealed by the service.
    with legacy_engine.begin() as connection:
        connection.execute(text("UPDATE revision SET seal = NULL WHERE object_id = :id"), {"id": good_id})
        connection.execute(text("DELETE FROM audit_key"))
    seal.forget_cached_keys()
    with Session(legacy_engine) as session:
        revisions.audit_key(session)
        session.commit()
        assert session.exec(select(Revision).where(Revision.object_id == good_id)).one().seal is None


def test_the_upgrade_numbers_existing_revisions_in_their_chains(infrastructure):
    from alembic import command

    engine = make_engine(ConsentSettings(database_url=infrastructure.new_database(f"upgrade_{uuid.uuid4().hex[:6]}")))
    try:
        with engine.begin() as connection:
            command.upgrade(migrations_config("consent.migrations", connection), "5b7e2c9d41f3")  # before sealing
            for object_id, count in (("a", 3), ("b", 2)):
                for n in range(count):
                    connection.execute(text("INSERT INTO revision (id, schema_name, object_id, signed_without_object_id, "
                                            "serialized_snapshot, serialized_hash, timestamp) VALUES (:id, 'Policy', :o, false, '{}', 'h', 't')"),
                                       {"id": f"{object_id}{n}", "o": object_id})
        migrate(engine, "consent.migrations")
        with engine.connect() as connection:
            numbers = dict(connection.execute(text("SELECT id, number FROM revision")).all())
        assert numbers == {"a0": 1, "a1": 2, "a2": 3, "b0": 1, "b1": 2}
    finally:
        engine.dispose()


def test_production_refuses_the_development_audit_secret():
    with pytest.raises(ValidationError, match="AUDIT_KEY_SECRET"):
        ConsentSettings(environment="production")
    assert ConsentSettings(environment="production", audit_key_secret="a real one").audit_key_secret == "a real one"
