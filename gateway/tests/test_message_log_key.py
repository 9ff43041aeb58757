"""The message log's signing key is sealed under MESSAGE_LOG_KEY_SECRET: someone who can write the database but lacks
the secret can neither sign an altered chain nor plant a key of their own that verification accepts."""
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import text
from sqlmodel import Session, select

from gateway import messagelog
from gateway.messagelog import Exchange, append, row_hash, verify
from gateway.models import ChainSignature, MessageLogEntry, SigningKey
from gateway.settings import GatewaySettings
from kernel.db import make_engine, migrate


@pytest.fixture
def log_engine(infrastructure):
    """A message log of its own: these tests rewrite the whole chain, as an intruder would."""
    url = infrastructure.new_database(f"msglog_key_{uuid.uuid4().hex[:6]}")
    engine = make_engine(GatewaySettings(database_url=url))
    migrate(engine, "gateway.migrations")
    yield engine, url
    messagelog._keys.pop(str(engine.url), None)
    engine.dispose()


def _exchanges(n: int) -> list[Exchange]:
    now = datetime.now(timezone.utc)
    return [Exchange(message_id=str(uuid.uuid4()), client="LA/GOV/A/app", service="LA/GOV/B/app/records", method="GET",
                     path="/x", status=200, outcome="delivered", started_at=now, finished_at=now) for _ in range(n)]


def _run(url: str, *args: str, secret: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    if secret is not None:
        env["MESSAGE_LOG_KEY_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "gateway.messagelog", *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_private_key_is_stored_only_sealed(log_engine):
    engine, _ = log_engine
    append(engine, _exchanges(2))
    with Session(engine) as session:
        stored = session.exec(select(SigningKey)).one()
    assert stored.private_jwk is None
    assert stored.public_jwk and "d" not in stored.public_jwk
    assert stored.sealed_private_jwk and '"d"' not in stored.sealed_private_jwk
    assert verify(engine).ok
    assert not verify(engine, secret="another secret").ok  # the key does not open: its signatures are not trusted


def test_a_rewritten_chain_signed_with_a_planted_key_does_not_verify(log_engine):
    engine, _ = log_engine
    append(engine, _exchanges(3))
    assert verify(engine).ok
    # The intruder alters the middle row, recomputes every hash after it, plants a key and signs the new head with it.
    intruder = ECKey.generate_key("P-256", parameters={"kid": "intruder", "alg": "ES256"})
    with Session(engine) as session:
        rows = list(session.exec(select(MessageLogEntry).order_by(MessageLogEntry.seq)))
        rows[1].status = 500
        prev = messagelog.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.row_hash = prev = row_hash(prev, row.model_dump())
            session.add(row)
        session.add(SigningKey(kid="intruder", private_jwk=intruder.as_dict(private=True), public_jwk=intruder.as_dict(private=False)))
        payload = json.dumps({"seq": rows[-1].seq, "hash": prev, "iat": 0})
        token = jws.serialize_compact({"alg": "ES256", "kid": "intruder"}, payload, intruder)
        session.exec(text("DELETE FROM chain_signature"))
        session.add(ChainSignature(head_seq=rows[-1].seq, head_hash=prev, kid="intruder", jws=token))
        session.commit()

    result = verify(engine)

    assert not result.ok
    assert "not sealed under this gateway's secret" in result.reason


def test_auditors_verify_with_the_exported_public_keys(log_engine, tmp_path):
    engine, url = log_engine
    append(engine, _exchanges(2))
    exported = _run(url, "keys")
    assert exported.returncode == 0, exported.stderr
    keys = json.loads(exported.stdout)
    assert [k["kid"] for k in keys["keys"]] and all("d" not in k for k in keys["keys"])
    trusted, other = tmp_path / "trusted.json", tmp_path / "other.json"
    trusted.write_text(exported.stdout)
    stranger = ECKey.generate_key("P-256", parameters={"kid": keys["keys"][0]["kid"], "alg": "ES256"})
    other.write_text(json.dumps({"keys": [stranger.as_dict(private=False)]}))

    # Verified with the public keys alone, by someone without the secret; a key that is not the gateway's fails.
    with_public_keys = _run(url, "verify", "--trusted-keys", str(trusted), secret="an auditor does not know it")
    with_other_key = _run(url, "verify", "--trusted-keys", str(other))
    wrong_secret = _run(url, "verify", secret="not the gateway's secret")

    assert with_public_keys.returncode == 0, with_public_keys.stderr
    assert with_other_key.returncode == 1 and "signature does not verify" in with_other_key.stderr
    assert wrong_secret.returncode == 1 and "not sealed" in wrong_secret.stderr


def test_a_key_stored_in_the_clear_by_an_older_version_is_sealed_on_first_use(log_engine):
    engine, _ = log_engine
    legacy = ECKey.generate_key("P-256", parameters={"kid": "legacy", "alg": "ES256"})
    with Session(engine) as session:
        session.add(SigningKey(kid="legacy", private_jwk=legacy.as_dict(private=True)))
        session.commit()

    append(engine, _exchanges(1))

    with Session(engine) as session:
        stored = session.get(SigningKey, "legacy")
        signature = session.exec(select(ChainSignature)).one()
    assert stored.private_jwk is None and stored.sealed_private_jwk
    assert signature.kid == "legacy"
    assert verify(engine).ok
