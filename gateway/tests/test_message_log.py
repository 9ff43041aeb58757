"""The message log chain: `python -m gateway.messagelog verify` accepts it whole and names the first altered row."""
import logging
import os
import subprocess
import sys
import threading
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from gateway import messagelog
from gateway.messagelog import verify
from gateway.models import ChainSignature
from gateway.settings import GatewaySettings
from kernel.db import make_engine, migrate
from kernel.testing import wait_until


def run_verify(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "gateway.messagelog", "verify", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def own_log(infrastructure):
    """A message log of its own, to be truncated as an intruder with database access would."""
    settings = GatewaySettings(database_url=infrastructure.new_database(f"msglog_{uuid.uuid4().hex[:6]}"))
    engine = make_engine(settings)
    migrate(engine, "gateway.migrations")
    yield settings, engine
    messagelog._keys.pop(str(engine.url), None)
    engine.dispose()


def some_exchanges(n: int) -> list[messagelog.Exchange]:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    return [messagelog.Exchange(message_id=str(uuid.uuid4()), client="LA/GOV/A/app", service="LA/GOV/B/app/records", method="GET",
                                path="/x", status=200, outcome="delivered", started_at=now, finished_at=now) for _ in range(n)]


def signed_head(verified: subprocess.CompletedProcess) -> str:
    assert verified.returncode == 0, verified.stderr
    [line] = [line for line in verified.stdout.splitlines() if line.startswith("signed head: ")]
    return line.removeprefix("signed head: ")


def test_chain_verifies_and_names_the_first_altered_row(exchange, settings, engine, logged):
    message_ids = [str(uuid.uuid4()) for _ in range(3)]
    for message_id in message_ids:
        httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    rows = [wait_until(lambda m=m: logged(m), message="logged exchanges") for m in message_ids]
    wait_until(lambda: verify(engine).signatures > 0, message="a signed chain head")

    intact = run_verify(settings)
    with engine.begin() as connection:
        connection.execute(text("UPDATE message_log SET status = 500 WHERE seq = :seq"), {"seq": rows[1].seq})
    try:
        altered = run_verify(settings)
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE message_log SET status = :status WHERE seq = :seq"), {"status": rows[1].status, "seq": rows[1].seq})

    assert intact.returncode == 0, intact.stderr
    assert "verified" in intact.stdout
    assert altered.returncode == 1
    assert f"broken at row {rows[1].seq}" in altered.stderr


def test_chain_heads_are_signed_with_the_stored_key(exchange, engine, logged):
    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    row = wait_until(lambda: logged(message_id), message="the exchange logged")

    def signed_past_row():
        with Session(engine) as session:
            return session.exec(select(ChainSignature).where(ChainSignature.head_seq >= row.seq)).first()

    signature = wait_until(signed_past_row, message="a signature covering the row")
    result = verify(engine)

    assert signature.jws.count(".") == 2
    assert result.ok and result.signatures >= 1


def test_a_forged_signature_breaks_verification(exchange, engine, logged):
    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    wait_until(lambda: logged(message_id), message="the exchange logged")
    wait_until(lambda: verify(engine).signatures > 0, message="a signed chain head")
    with Session(engine) as session:
        signature = session.exec(select(ChainSignature).order_by(ChainSignature.head_seq.desc())).first()
    header, payload, sig = signature.jws.split(".")
    forged = ".".join([header, payload, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])

    with engine.begin() as connection:
        connection.execute(text("UPDATE chain_signature SET jws = :jws WHERE id = :id"), {"jws": forged, "id": signature.id})
    try:
        result = verify(engine)
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE chain_signature SET jws = :jws WHERE id = :id"), {"jws": signature.jws, "id": signature.id})

    assert not result.ok and "signature" in result.reason


async def lingering_writer(engine, logged, tmp_path) -> messagelog.MessageLogWriter:
    """A writer that has just written its first batch and now waits 60 s to gather the next."""
    import asyncio

    writer = messagelog.MessageLogWriter(engine, journal_dir=tmp_path, batch_size=500, linger=60)
    writer.start()
    [first] = some_exchanges(1)
    writer.record(first)
    while await asyncio.to_thread(logged, first.message_id) is None:
        await asyncio.sleep(0.05)
    return writer


def test_the_writer_waits_to_gather_a_batch_and_a_stop_while_waiting_loses_nothing(engine, logged, tmp_path):
    import asyncio

    later = some_exchanges(20)
    waiting_before_stop = []

    async def scenario() -> None:
        writer = await lingering_writer(engine, logged, tmp_path)  # the stop comes during the wait
        for exchange in later:
            writer.record(exchange)
        await asyncio.sleep(0.2)
        waiting_before_stop.extend([await asyncio.to_thread(logged, e.message_id) for e in later])
        await writer.stop()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))

    assert waiting_before_stop == [None] * 20  # still gathering: not written one by one
    assert all(logged(e.message_id) is not None for e in later)
    assert verify(engine).ok


def test_a_reader_catching_up_cuts_the_writers_wait_short(engine, logged, tmp_path):
    import asyncio
    import time

    later = some_exchanges(5)
    took, stored_before_stop = [], []

    async def scenario() -> None:
        writer = await lingering_writer(engine, logged, tmp_path)
        for exchange in later:
            await writer.record_durably(exchange)
        start = time.monotonic()
        await writer.caught_up(timeout=20)
        took.append(time.monotonic() - start)
        stored_before_stop.extend([await asyncio.to_thread(logged, e.message_id) for e in later])
        await writer.stop()

    asyncio.run(asyncio.wait_for(scenario(), timeout=40))

    assert took[0] < 10  # not the linger's 60 s, nor the timeout
    assert None not in stored_before_stop


def test_every_stored_exchange_is_covered_by_a_signature_as_soon_as_it_is_stored(exchange, engine, logged):
    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))

    row = wait_until(lambda: logged(message_id), message="the exchange logged")

    with Session(engine) as session:  # no waiting: the batch and its signature were committed together
        covering = session.exec(select(ChainSignature).where(ChainSignature.head_seq >= row.seq)).first()
    assert covering is not None


def test_a_row_appended_past_the_last_signature_is_detected(exchange, engine, logged):
    from gateway.messagelog import _head, row_hash
    from gateway.models import MessageLogEntry

    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    template = wait_until(lambda: logged(message_id), message="the exchange logged")
    fields = template.model_dump(exclude={"seq", "entry_id", "prev_hash", "row_hash"})
    fields["message_id"] = "forged-" + message_id

    with Session(engine) as session:  # a forger with database access: a correctly chained row, but no signature
        head = _head(session)
        forged = MessageLogEntry(**fields, prev_hash=head.row_hash, row_hash=row_hash(head.row_hash, fields))
        session.add(forged)
        session.commit()
        forged_seq = forged.seq
    try:
        result = verify(engine)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM message_log WHERE seq = :seq"), {"seq": forged_seq})

    assert not result.ok
    assert result.broken_seq == forged_seq and "not covered by a signature" in result.reason


def test_an_exchange_that_cannot_be_journaled_is_not_reported_as_delivered(engine, logged, tmp_path):
    import asyncio

    from gateway.messagelog import JournalFailed, MessageLogWriter

    exchanges = some_exchanges(4)
    refused = []

    async def record(writer, exchange, alone: bool) -> None:
        try:
            await writer.record_durably(exchange, alone=alone)
        except JournalFailed:
            refused.append(exchange.message_id)

    async def scenario() -> None:
        writer = MessageLogWriter(engine, journal_dir=tmp_path, batch_size=500)
        writer.start()
        os.close(writer.journal.fd)  # the journal's disk is gone
        writer.journal.fd = os.open(os.devnull, os.O_RDONLY)  # writes now fail
        await record(writer, exchanges[0], True)  # synced on the loop at once
        await asyncio.gather(record(writer, exchanges[1], False), record(writer, exchanges[2], False))  # one sync on the loop
        writer.sync_estimate = 1.0  # a slow disk: the journal thread syncs
        await record(writer, exchanges[3], False)
        await writer.stop()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))

    assert refused == [e.message_id for e in exchanges]
    assert [(logged(e.message_id).outcome, logged(e.message_id).error) for e in exchanges] == \
        [("failed", "Server.ServerProxy.MessageLogFailed")] * 4


def test_the_loop_syncs_the_journal_while_syncs_are_fast_and_its_thread_while_they_are_slow(engine, logged, tmp_path, monkeypatch):
    import asyncio

    from gateway import journal
    from gateway.messagelog import MessageLogWriter

    synced_on = []
    append = journal.Journal.append

    def watched_append(self, data: bytes, *, sync: bool = True) -> None:
        synced_on.append((threading.current_thread() is threading.main_thread(), data.count(b"\n")))
        append(self, data, sync=sync)

    monkeypatch.setattr(journal.Journal, "append", watched_append)
    fast, slow = some_exchanges(3), some_exchanges(3)

    async def scenario() -> tuple[bool, bool]:
        writer = MessageLogWriter(engine, journal_dir=tmp_path, batch_size=500)
        writer.start()
        await asyncio.gather(*(writer.record_durably(exchange) for exchange in fast))
        writer.sync_estimate = 1.0  # what a disk taking a second per sync would have given
        await asyncio.gather(*(writer.record_durably(exchange) for exchange in slow))
        slow_then = writer.syncs_fast()
        while not writer.syncs_fast():  # this disk is fast: the estimate comes down, and the loop takes over again
            await writer.record_durably(some_exchanges(1)[0])
        fast_again = writer.syncs_fast()
        await writer.record_durably(some_exchanges(1)[0])
        await writer.stop()
        return slow_then, fast_again

    slow_then, fast_again = asyncio.run(asyncio.wait_for(scenario(), timeout=60))

    assert synced_on[0] == (True, 3)  # the three deliveries of one loop iteration in one sync on the loop
    assert synced_on[1][0] is False and sum(lines for _, lines in synced_on[1:3]) >= 3  # then on the journal thread
    assert not slow_then and fast_again and synced_on[-1][0] is True
    assert all(logged(e.message_id).outcome == "delivered" for e in fast + slow)


def test_a_truncated_log_is_detected_given_a_head_recorded_before(own_log):
    settings, engine = own_log
    messagelog.append(engine, some_exchanges(2))
    earlier = signed_head(run_verify(settings))
    messagelog.append(engine, some_exchanges(2))
    messagelog.append(engine, some_exchanges(2))
    recorded = signed_head(run_verify(settings))  # what the auditor keeps outside the database
    kept_seq = int(earlier.partition(":")[0]) + 2

    # An intruder without the secret deletes the newest rows and the signatures of the heads past what is left.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM message_log WHERE seq > :seq"), {"seq": kept_seq})
        connection.execute(text("DELETE FROM chain_signature WHERE head_seq > :seq"), {"seq": kept_seq})
    unanchored = run_verify(settings)
    anchored = run_verify(settings, "--expect-head", recorded)
    still_there = run_verify(settings, "--expect-head", earlier)

    assert unanchored.returncode == 0  # what the database alone cannot show
    assert anchored.returncode == 1
    assert f"broken at row {recorded.partition(':')[0]}" in anchored.stderr and "truncated" in anchored.stderr
    assert still_there.returncode == 0, still_there.stderr


def test_an_expected_head_must_be_seq_and_hash(own_log):
    settings, _ = own_log

    result = run_verify(settings, "--expect-head", "12")

    assert result.returncode == 2 and "SEQ:HASH" in result.stderr


def test_a_signed_head_reaches_the_service_log_now_and_then(own_log, monkeypatch, caplog):
    """Shipped off the host, the logged head is what --expect-head needs; once a minute, not once per batch."""
    settings, engine = own_log
    monkeypatch.setattr(messagelog, "_head_logged_at", None)

    with caplog.at_level(logging.INFO, logger="gateway.messagelog"):
        messagelog.append(engine, some_exchanges(2))
        messagelog.append(engine, some_exchanges(2))
    announced = [r.getMessage() for r in caplog.records if "signed head" in r.getMessage()]

    assert len(announced) == 1
    logged_head = announced[0].split("signed head ")[1].split()[0]
    assert run_verify(settings, "--expect-head", logged_head).returncode == 0
    assert "LA/GOV" not in announced[0]  # ids and hashes only


def test_row_hashes_are_the_canonical_json_stored_chains_were_made_with():
    """row_hash is built for speed; its bytes must stay those of the original definition (sorted keys, compact, UTF-8,
    times as integer microseconds), or chains stored by earlier versions would no longer verify."""
    import hashlib
    import json
    from datetime import datetime, timedelta, timezone

    from gateway.messagelog import _HASHED, row_hash

    def original(prev: str, fields: dict) -> str:
        def micros(value: datetime) -> int:
            return int((value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp() * 1_000_000)
        canonical = {name: (micros(fields[name]) if isinstance(fields[name], datetime) else fields[name]) for name in _HASHED}
        return hashlib.sha256((prev + json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)).encode()).hexdigest()

    aware = datetime(2026, 11, 21, 9, 30, 1, 123456, tzinfo=timezone(timedelta(hours=7)))
    rows = [
        dict(message_id="m-1", client="LA/GOV/A/app", service="LA/GOV/B/app/svc", method="GET", path="/v1/ທົດສອບ?\"q\"", status=200,
             outcome="delivered", error="", request_size=0, response_size=12, request_hash="a" * 64, response_hash="b" * 64,
             started_at=aware, finished_at=aware + timedelta(milliseconds=3), request_body=None, response_body='{"x": "\\u2028"}',
             entry_id="e-1", prev_hash="ignored", row_hash="ignored"),
        dict(message_id="m-2", client="", service="s", method="POST", path="/", status=500, outcome="failed",
             error="Server.ServerProxy.InternalError", request_size=5, response_size=0, request_hash="", response_hash="",
             started_at=datetime(2026, 1, 1, 0, 0, 0), finished_at=datetime(2026, 1, 1, 0, 0, 1), request_body="ab\tc\n",
             response_body=None),
    ]
    for prev in ("0" * 64, "f" * 64):
        for fields in rows:
            assert row_hash(prev, fields) == original(prev, fields)
