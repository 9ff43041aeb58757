"""The message log: exchange metadata hash-chained row to row, each written batch signed; `python -m gateway.messagelog verify`.

Durability: an exchange is journaled (fsync'd to a local file, see journal.py) before its response goes out as delivered;
the database rows follow in batches. A process that dies between the two leaves its journal, which the next one replays.
"""
import asyncio
import base64
import hashlib
import json
import logging
import os
import random
import sys
import threading
import time
import uuid
import queue
from collections import deque
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import func, insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from gateway import journal
from gateway.models import ChainSignature, MessageLogEntry, SigningKey

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_DATETIMES = ("started_at", "finished_at")
_HASHED = ("message_id", "client", "service", "method", "path", "status", "outcome", "error", "request_size",
           "response_size", "request_hash", "response_hash", "started_at", "finished_at", "request_body", "response_body")


# A generator of our own, seeded once from os.urandom: test tools (Hypothesis) reseed the global one per example, which
# made different exchanges share ids.
_ids = random.Random()


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_RANDOM_BITS = ~((0xF000 << 64) | (0xC000 << 48))


def new_id() -> str:
    """A UUID for ids that are not secrets (message ids, journal entry ids): a PRNG spares the hot path an os.urandom call,
    and formatting it here a uuid.UUID object (what str(uuid.UUID(int=..., version=4)) gives, at a third of the cost)."""
    h = "%032x" % ((_ids.getrandbits(128) & _RANDOM_BITS) | _VERSION_4)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _entry_id() -> str:
    return new_id()


@dataclass
class Exchange:
    """What the forwarding path hands to the log: journaled at once, written to the database in batches."""

    message_id: str
    client: str
    service: str
    method: str
    path: str
    status: int
    outcome: str  # delivered | refused | failed
    started_at: datetime
    finished_at: datetime
    error: str = ""
    request_size: int = 0
    response_size: int = 0
    request_hash: str = ""
    response_hash: str = ""
    request_body: str | None = None
    response_body: str | None = None
    entry_id: str = field(default_factory=_entry_id)  # stored, not hashed: it only tells a replayed entry from a new one
    attempts: int = field(default=0, compare=False)  # failed writes, not part of the record

    def record(self) -> dict:
        record = self.__dict__.copy()  # the fields in order, copied in C
        del record["attempts"]
        return record

    @classmethod
    def of_record(cls, record: dict) -> "Exchange":
        values = {name: record.get(name) for name in _COLUMNS if name in record}
        for name in _DATETIMES:
            values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


# The stored columns of an exchange, read field by field: dataclasses.asdict deep-copies every value (a third of the
# writer's time under load).
_COLUMNS = tuple(f.name for f in fields(Exchange) if f.name != "attempts")


_STOP = object()  # tells the journal thread to end
# Below this a sync is cheaper for the event loop to wait out than a hand-off to the journal thread (measured: about 0.1
# ms per fdatasync on a local SSD, and the hand-off, a wake-up both ways, cost the gateway about 40 us of CPU per
# exchange); above it (a slow or busy disk) the loop must not stall, so the thread syncs while the loop serves.
INLINE_SYNC_MAX_SECONDS = 0.001


class JournalFailed(Exception):
    """The exchange could not be made durable, so its response must not go out as delivered."""


def _micros(value: datetime) -> int:
    # SQLite gives naive datetimes back; they were written in UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1_000_000)


# Canonical JSON: keys sorted (inserted in sorted order, which is what sort_keys=True would give), compact, UTF-8. One
# encoder for all rows: json.dumps with options builds a new one per call. The bytes must never change: stored chains
# are verified against them (tests/test_message_log.py checks them against the plain json.dumps form).
_SORTED_HASHED = tuple(sorted(_HASHED))
_canonical_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def row_hash(prev_hash: str, fields: dict) -> str:
    """SHA-256 over the previous row's hash and this row's canonical JSON (times as integer microseconds)."""
    canonical = {name: fields[name] for name in _SORTED_HASHED}
    for name in _DATETIMES:
        if isinstance(canonical[name], datetime):
            canonical[name] = _micros(canonical[name])
    return hashlib.sha256((prev_hash + _canonical_json(canonical)).encode()).hexdigest()


# Appends and head signatures of one process never overlap (SQLite would refuse the second writer).
_chain_writer = threading.Lock()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Several gateway processes append to one chain; one at a time keeps it linear.
        session.execute(text("SELECT pg_advisory_xact_lock(727275)"))


def _head(session: Session) -> MessageLogEntry | None:
    return session.exec(select(MessageLogEntry).order_by(MessageLogEntry.seq.desc()).limit(1)).first()


# The batch path in SQL expressions, not ORM queries: per batch the ORM's machinery cost more than the batch's rows.
_HEAD = select(MessageLogEntry.__table__.c.seq, MessageLogEntry.__table__.c.row_hash).order_by(
    MessageLogEntry.__table__.c.seq.desc()).limit(1)
_LAST_SEQ = select(func.max(MessageLogEntry.__table__.c.seq))


def append(engine: Engine, exchanges: list[Exchange]) -> None:
    """Append exchanges to the chain and sign the new head, in one transaction: no row is ever stored unsigned."""
    with _chain_writer, Session(engine) as session:
        _lock_chain(session)
        head = session.execute(_HEAD).first()
        prev = head.row_hash if head else GENESIS
        rows = []
        for exchange in exchanges:
            columns = exchange.record()
            for name in _CALLER_TEXT:
                if columns[name] and "\0" in columns[name]:
                    # PostgreSQL text cannot hold NUL (a path with %00 was refused, and with it the rest of its batch,
                    # until dropped); hashed as stored, so the chain verifies on any database.
                    columns[name] = columns[name].replace("\0", "\ufffd")
            current = columns["row_hash"] = row_hash(prev, columns)
            columns["prev_hash"] = prev
            rows.append(columns)
            prev = current
        _insert_rows(session, rows)
        head_seq = session.execute(_LAST_SEQ).scalar_one()
        # One signature per batch, not per exchange: the batch's rows are bound to it through the hash chain.
        _sign(session, head_seq=head_seq, head_hash=prev, flush=False)
        session.commit()
    _announce_head(head_seq, prev)


HEAD_LOG_SECONDS = 60.0
_head_logged_at: float | None = None


def _announce_head(seq: int, row_hash: str) -> None:
    """A signed head in the service log now and then: shipped off the host, it is what `verify --expect-head` needs to
    detect a truncated log (nothing inside the database can). Ids and hashes only, never an exchange's content."""
    global _head_logged_at
    now = time.monotonic()
    if _head_logged_at is None or now - _head_logged_at >= HEAD_LOG_SECONDS:
        _head_logged_at = now
        log.info("message log signed head %d:%s (verify --expect-head)", seq, row_hash)


_ROW_COLUMNS = (*_COLUMNS, "prev_hash", "row_hash")
_CALLER_TEXT = ("message_id", "client", "service", "method", "path", "error", "request_body", "response_body")
_COPY = f"COPY {MessageLogEntry.__tablename__} ({', '.join(_ROW_COLUMNS)}) FROM STDIN"


def _insert_rows(session: Session, rows: list[dict]) -> None:
    """The rows in chain order (seq follows it), in the session's transaction."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY: the values go out in one stream, adapted in C; an executemany INSERT cost the writer thread about as much
        # CPU per exchange as the forwarding itself.
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row([row[name] for name in _ROW_COLUMNS])
    else:
        session.execute(insert(MessageLogEntry.__table__), rows)


# The signing key, once loaded, per database: the batch path must not read and parse it for every batch.
_keys: dict[str, ECKey] = {}
_secret: str | None = None


def use_key_secret(secret: str) -> None:
    """The secret sealing the signing key (the app sets it from its settings; commands read their own settings)."""
    global _secret
    _secret = secret


def _sealer(secret: str | None = None) -> Fernet:
    if secret is None:
        if _secret is None:
            from gateway.settings import GatewaySettings

            use_key_secret(GatewaySettings().message_log_key_secret)
        secret = _secret
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gateway message log signing key").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(stored: SigningKey, key: ECKey, secret: str | None = None) -> None:
    stored.sealed_private_jwk = _sealer(secret).encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()
    stored.public_jwk = key.as_dict(private=False)
    stored.private_jwk = None


def _unseal(stored: SigningKey, secret: str | None = None) -> ECKey | None:
    """The key, if it was sealed under this secret; None for a key in the clear or sealed under another secret."""
    if not stored.sealed_private_jwk:
        return None
    try:
        key = ECKey.import_key(json.loads(_sealer(secret).decrypt(stored.sealed_private_jwk.encode())))
    except (InvalidToken, ValueError):
        return None
    return key if key.kid == stored.kid else None


def signing_key(session: Session) -> ECKey:
    url = str(session.get_bind().url)
    if url in _keys:
        return _keys[url]
    stored = session.exec(select(SigningKey).order_by(SigningKey.created_at.desc()).limit(1)).first()
    key = None
    if stored is not None and stored.sealed_private_jwk:
        key = _unseal(stored)
        if key is None:
            raise RuntimeError("the message log signing key does not open with MESSAGE_LOG_KEY_SECRET")
    elif stored is not None and stored.private_jwk:
        # Stored in the clear by an older version: seal it now (older signatures stay verifiable with it).
        key = ECKey.import_key(stored.private_jwk)
        _seal(stored, key)
        session.add(stored)
        session.flush()
    if key is None:
        key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256"})
        stored = SigningKey(kid=key.kid)
        _seal(stored, key)
        session.add(stored)
        session.flush()
    _keys[url] = key
    return key


def _sign(session: Session, *, head_seq: int, head_hash: str, flush: bool = True) -> ChainSignature | None:
    """flush=False: inserted as a plain INSERT statement, not through the ORM's unit of work (the batch path)."""
    key = signing_key(session)
    payload = json.dumps({"seq": head_seq, "hash": head_hash, "iat": int(datetime.now(timezone.utc).timestamp())})
    token = jws.serialize_compact({"alg": "ES256", "kid": key.kid}, payload, key)
    if not flush:
        session.execute(insert(ChainSignature.__table__).values(id=new_id(), head_seq=head_seq, head_hash=head_hash, kid=key.kid,
                                                                jws=token, signed_at=datetime.now(timezone.utc)))
        return None
    signature = ChainSignature(head_seq=head_seq, head_hash=head_hash, kid=key.kid, jws=token)
    session.add(signature)
    return signature


def sign_head(engine: Engine) -> ChainSignature | None:
    """Sign the current chain head unless it is signed already."""
    with _chain_writer, Session(engine) as session:
        _lock_chain(session)
        head = _head(session)
        if head is None:
            return None
        last = session.exec(select(ChainSignature).order_by(ChainSignature.head_seq.desc()).limit(1)).first()
        if last is not None and last.head_seq == head.seq:
            return None
        signature = _sign(session, head_seq=head.seq, head_hash=head.row_hash)
        session.commit()
        return signature


@dataclass
class Verification:
    rows: int
    signatures: int
    broken_seq: int | None = None
    reason: str = ""
    head: tuple[int, str] | None = None  # the last signed head (seq, hash): what an auditor records to detect truncation

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(engine: Engine, secret: str | None = None, trusted: dict[str, ECKey] | None = None,
           expect_head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain in order; report the first row whose link or content does not match, a bad signature, or rows
    that no signed head covers (every written batch is signed, so only an insertion past the last one leaves some).
    Nothing in the database can show that its newest rows were deleted together with their signatures: expect_head,
    a head (seq, hash) recorded earlier outside the database, must still be in the chain."""
    rows, last_seq = 0, None
    hashes: dict[int, str] = {}
    with Session(engine) as session:
        prev = GENESIS
        for entry in session.exec(select(MessageLogEntry).order_by(MessageLogEntry.seq)).yield_per(1000):
            last_seq = entry.seq
            rows += 1
            if entry.prev_hash != prev:
                return Verification(rows, 0, entry.seq, "the link to the previous row does not match")
            if row_hash(prev, entry.model_dump()) != entry.row_hash:
                return Verification(rows, 0, entry.seq, "the row's content does not match its hash")
            hashes[entry.seq] = entry.row_hash
            prev = entry.row_hash
        # Only keys sealed under our secret count: a key planted or swapped in the database does not open with it.
        keys = trusted if trusted is not None else {
            k.kid: key for k in session.exec(select(SigningKey)) if (key := _unseal(k, secret)) is not None}
        signatures = list(session.exec(select(ChainSignature).order_by(ChainSignature.head_seq)))
    for signature in signatures:
        key = keys.get(signature.kid)
        if key is None:
            return Verification(rows, len(signatures), signature.head_seq,
                                "a chain signature names a signing key that is not sealed under this gateway's secret (or not trusted)")
        try:
            payload = json.loads(jws.deserialize_compact(signature.jws, key, algorithms=["ES256"]).payload)
        except Exception:
            return Verification(rows, len(signatures), signature.head_seq, "a chain signature does not verify")
        if payload.get("hash") != hashes.get(signature.head_seq) or payload.get("seq") != signature.head_seq:
            return Verification(rows, len(signatures), signature.head_seq, "a signed chain head does not match the row")
    signed_up_to = signatures[-1].head_seq if signatures else 0
    if last_seq is not None and last_seq > signed_up_to:
        first_unsigned = min(seq for seq in hashes if seq > signed_up_to)
        return Verification(rows, len(signatures), first_unsigned, "rows after the last signed chain head are not covered by a signature")
    head = (signatures[-1].head_seq, hashes[signatures[-1].head_seq]) if signatures else None
    if expect_head is not None and hashes.get(expect_head[0]) != expect_head[1]:
        return Verification(rows, len(signatures), expect_head[0],
                            "the expected head is no longer in the chain: rows were deleted (the log truncated) or replaced", head)
    return Verification(rows, len(signatures), head=head)


def _stored_entry_ids(engine: Engine, entry_ids: list[str]) -> set[str]:
    found: set[str] = set()
    with Session(engine) as session:
        for i in range(0, len(entry_ids), 1000):
            chunk = entry_ids[i:i + 1000]
            found.update(session.exec(select(MessageLogEntry.entry_id).where(MessageLogEntry.entry_id.in_(chunk))).all())
    return found


def replay_orphaned_journals(engine: Engine, directory: Path, batch_size: int = 500) -> int:
    """Write what dead processes journaled but never stored (the entry ids tell), then remove their journals."""
    replayed = 0
    for path, fd in journal.orphans(directory):
        try:
            exchanges = [Exchange.of_record(record) for record in journal.read(path)]
            stored = _stored_entry_ids(engine, [e.entry_id for e in exchanges])
            missing = [e for e in exchanges if e.entry_id not in stored]
            for i in range(0, len(missing), batch_size):
                append(engine, missing[i:i + batch_size])
            path.unlink()
            replayed += len(missing)
            log.warning("message log: %d exchanges replayed from the journal of a stopped process", len(missing))
        finally:
            os.close(fd)
    return replayed


class MessageLogWriter:
    """Journals exchanges at once, then appends them to the database in batches, each batch signed.
    record_durably() returns only once the exchange is in the journal.

    Group commit: while the disk syncs fast (INLINE_SYNC_MAX_SECONDS), the event loop writes and fdatasyncs itself what
    the next loop iteration finishes, in one append; on a slower disk the journal's own thread writes and syncs
    everything that arrived since its last write while the loop goes on serving. The loop hands exchanges to it through
    a deque and wakes it only when it sleeps; the thread reports each write back with one call_soon_threadsafe.
    With sync_seconds > 0 the journal write happens on the loop before the response (a killed process still loses
    nothing) and the sync to disk every sync_seconds (an OS crash or power loss could lose that much)."""

    def __init__(self, engine: Engine, *, journal_dir: Path, batch_size: int, linger: float = 0.0, sync_seconds: float = 0.0):
        self.engine, self.journal_dir, self.batch_size, self.linger = engine, journal_dir, batch_size, linger
        self.sync_seconds = sync_seconds
        self.queue: asyncio.Queue[Exchange] = asyncio.Queue()  # journaled, waiting for the database
        self.journal: journal.Journal | None = None
        # Handed to the journal thread, with the future of a delivery waiting for it (None for a refusal or failure).
        self._pending: deque[tuple[Exchange, asyncio.Future | None]] = deque()
        self._in_flight = 0  # handed to the journal thread and not reported back yet (the loop's count)
        self._sleeping = False  # the journal thread waits on _wake; set by it, cleared by whoever wakes it
        self._wake: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.journaled = self.settled = 0  # equal: every journaled exchange is in the database (or given up on)
        self._writing = False  # a batch is taken from the queue and not settled yet
        self._tasks: list[asyncio.Task] = []
        self._nudged = asyncio.Event()  # a reader of the log waits for it: the linger is cut short
        # To be synced by the loop itself (while syncs are fast), with the future of a delivery waiting for it.
        self._due: list[tuple[Exchange, asyncio.Future | None]] = []
        self.sync_estimate = 0.0  # seconds a journal append and sync take, a running average

    def record(self, exchange: Exchange) -> None:
        """Refusals and failures: journaled with the next write, nobody waits for it."""
        if self.sync_seconds:
            self._write_unsynced([exchange])
        elif self.syncs_fast():
            self._sync_soon(exchange, None)
        else:
            self._hand_over(exchange, None)

    async def record_durably(self, exchange: Exchange, *, alone: bool = False) -> None:
        """A delivery: returns once the exchange is fsync'd to the journal; raises JournalFailed if it cannot be.
        alone: no other exchange is in progress, so it is synced at once (nothing to wait for to share the sync)."""
        if self.sync_seconds:
            self._write_unsynced([exchange])
            if exchange.error == "Server.ServerProxy.MessageLogFailed":
                raise JournalFailed()
            return
        if self.syncs_fast():
            if alone and not self._in_flight and not self._due:
                self._sync_on_loop([(exchange, None)])
                if exchange.error == "Server.ServerProxy.MessageLogFailed":
                    raise JournalFailed()
                return
            future = self._loop.create_future()
            self._sync_soon(exchange, future)
            await future
            return
        future = self._loop.create_future()
        self._hand_over(exchange, future)
        await future

    def syncs_fast(self) -> bool:
        """Whether the journal's syncs take less than INLINE_SYNC_MAX_SECONDS (a running average), so the event loop
        makes them itself."""
        return self.sync_estimate < INLINE_SYNC_MAX_SECONDS

    def _sync_soon(self, exchange: Exchange, future: asyncio.Future | None) -> None:
        self._due.append((exchange, future))
        if len(self._due) == 1:
            self._loop.call_soon(self._sync_due, 1)

    def _sync_due(self, iterations_left: int) -> None:
        """Group commit on the loop: what the next loop iteration(s) finish shares this sync."""
        if iterations_left:
            self._loop.call_soon(self._sync_due, iterations_left - 1)
            return
        batch, self._due = self._due, []
        self._sync_on_loop(batch)

    def _sync_on_loop(self, batch: list[tuple[Exchange, asyncio.Future | None]]) -> None:
        self.journaled += len(batch)
        failure = None
        try:
            self._append_to_journal([exchange for exchange, _ in batch])
        except Exception as exc:
            failure = exc
        self._journaled(batch, failure)

    def _hand_over(self, exchange: Exchange, future: asyncio.Future | None) -> None:
        self.journaled += 1
        self._in_flight += 1
        self._pending.append((exchange, future))
        if self._sleeping:
            self._sleeping = False
            self._wake.put(None)

    def _journal_loop(self) -> None:
        """The journal thread: writes whatever is pending in one append and sync, until stopped."""
        while True:
            batch = []
            while self._pending:
                batch.append(self._pending.popleft())
            if not batch:
                self._sleeping = True
                if self._pending:  # handed over between the look and the flag: no wake-up comes for it
                    self._sleeping = False
                    continue
                if self._wake.get() is _STOP:
                    return
                continue
            failure = None
            try:
                self._append_to_journal([exchange for exchange, _ in batch])
            except Exception as exc:
                failure = exc
            self._loop.call_soon_threadsafe(self._journal_written, batch, failure)

    def _write_unsynced(self, batch: list[Exchange]) -> None:
        self.journaled += len(batch)
        try:
            self.journal.append(journal.encode([exchange.record() for exchange in batch]), sync=False)
        except Exception as failure:
            log.error("message log journal write failed for %d exchanges: %s", len(batch), type(failure).__name__)
            for exchange in batch:
                exchange.outcome, exchange.error = "failed", "Server.ServerProxy.MessageLogFailed"
        for exchange in batch:
            self.queue.put_nowait(exchange)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_seconds)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.journal.sync)
            except Exception as failure:
                log.error("message log journal sync failed: %s", type(failure).__name__)

    def _append_to_journal(self, batch: list[Exchange]) -> None:
        data = journal.encode([exchange.record() for exchange in batch])
        started = time.perf_counter()
        self.journal.append(data)
        # Either thread may update it; a lost update only delays the switch by a sync.
        self.sync_estimate += (time.perf_counter() - started - self.sync_estimate) / 8

    def _journal_written(self, batch: list[tuple[Exchange, asyncio.Future | None]], failure: BaseException | None) -> None:
        self._in_flight -= len(batch)
        self._journaled(batch, failure)

    def _journaled(self, batch: list[tuple[Exchange, asyncio.Future | None]], failure: BaseException | None) -> None:
        if failure is not None:
            log.error("message log journal write failed for %d exchanges: %s", len(batch), type(failure).__name__)
        for exchange, future in batch:
            if failure is not None:
                # Not durable, so not delivered: the caller answers with an error instead of the response.
                exchange.outcome, exchange.error = "failed", "Server.ServerProxy.MessageLogFailed"
            if future is not None and not future.done():
                future.set_exception(JournalFailed()) if failure is not None else future.set_result(None)
            self.queue.put_nowait(exchange)

    def start(self) -> None:
        self.journal = journal.Journal(self.journal_dir)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._journal_loop, name="message-log-journal", daemon=True)
        self._thread.start()
        self._tasks = [asyncio.create_task(self._write_loop())]
        if self.sync_seconds:
            self._tasks.append(asyncio.create_task(self._sync_loop()))

    async def stop(self) -> None:
        # A batch on its way to the database is let through: cancelled, it would stay unsettled and keep the journal.
        while self._writing:
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._in_flight or self._due:
            await asyncio.sleep(0.01)
        await self.flush()
        self._wake.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        # Kept when something is not in the database yet: the next process replays it.
        self.journal.close(remove=self.settled == self.journaled)

    async def flush(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            while not self.queue.empty():
                if not await self._write_batch():
                    break
            if self.queue.empty():
                return
        log.error("message log: %d exchanges could not be written before shutdown; they stay in the journal", self.queue.qsize())

    def _settle(self, count: int) -> None:
        self.settled += count
        # (What is _due is not in the file yet, so cutting the file now loses none of it.)
        if self.settled == self.journaled and not self._in_flight:
            # On the event loop with no write on the journal thread: nothing journaled but not yet stored can be cut
            # off. (While a write is under way the file is left as it is; a later batch truncates it.)
            try:
                self.journal.truncate()
            except OSError as failure:  # the journal only grows; replay skips what is stored
                log.warning("message log journal could not be truncated: %s", type(failure).__name__)

    async def _write_batch(self) -> bool:
        batch = [await self.queue.get()]
        self._writing = True
        try:
            return await self._write(batch)
        finally:
            self._writing = False

    async def _write(self, batch: list[Exchange]) -> bool:
        while not self.queue.empty() and len(batch) < self.batch_size:
            batch.append(self.queue.get_nowait())
        try:
            await run_in_threadpool(append, self.engine, batch)
        except Exception:
            log.exception("message log write failed for %d exchanges", len(batch))
        else:
            self._settle(len(batch))
            return True
        # Database down, or one row it refuses: write one by one so a bad row cannot hold back the others.
        await asyncio.sleep(0.5)
        written, failed, dropped = 0, [], 0
        for exchange in batch:
            try:
                await run_in_threadpool(append, self.engine, [exchange])
                written += 1
            except Exception:
                failed.append(exchange)
        for exchange in failed:
            # Only a row refused while others went in counts against it; an outage keeps everything queued.
            exchange.attempts += 1 if written else 0
            if exchange.attempts >= 5:
                log.error("message log row of exchange %s refused 5 times; dropped", exchange.message_id)
                dropped += 1
            else:
                self.queue.put_nowait(exchange)
        self._settle(written + dropped)
        if written == 0:
            await asyncio.sleep(1.0)
        return written > 0

    async def _write_loop(self) -> None:
        while True:
            await self._write_batch()
            if self.linger and self.queue.qsize() < self.batch_size:
                # Let a batch gather: the chain lock, head read, signature and commit are paid once for many exchanges.
                # The exchanges waiting are journaled already, so a crash here loses nothing. A reader of the log cuts
                # the wait short (caught_up).
                try:
                    await asyncio.wait_for(self._nudged.wait(), self.linger)
                except asyncio.TimeoutError:
                    pass
                self._nudged.clear()

    async def caught_up(self, timeout: float = 2.0) -> None:
        """Returns once every exchange this process journaled before the call is in the database, or after timeout (the
        database down): a reader of the log then sees the exchanges it just made, without waiting out the linger."""
        target, deadline = self.journaled, time.monotonic() + timeout
        while self.settled < target and time.monotonic() < deadline:
            self._nudged.set()  # again each round: an exchange still on the journal thread joins a later batch
            await asyncio.sleep(0.005)


def corrected(exchange: Exchange, *, outcome: str, error: str) -> Exchange:
    """A later entry for the same message: the response logged as delivered broke off on its way to the client."""
    return replace(exchange, outcome=outcome, error=error, finished_at=datetime.now(timezone.utc), entry_id=_entry_id(), attempts=0)


def public_keys(engine: Engine, secret: str | None = None) -> dict:
    """The public JWKS of the signing keys sealed under the secret, for auditors who verify without the secret."""
    with Session(engine) as session:
        return {"keys": [key.as_dict(private=False) for stored in session.exec(select(SigningKey).order_by(SigningKey.created_at))
                         if (key := _unseal(stored, secret)) is not None]}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from gateway.settings import GatewaySettings
    from kernel.db import existing_engine

    parser = argparse.ArgumentParser(prog="python -m gateway.messagelog")
    parser.add_argument("command", choices=["verify", "sign", "keys"])
    parser.add_argument("--trusted-keys", help="verify: a JWKS file (from `keys`) to check signatures with instead of the "
                                               "sealed keys, for auditors who do not hold MESSAGE_LOG_KEY_SECRET")
    parser.add_argument("--expect-head", type=_head_argument, metavar="SEQ:HASH",
                        help="verify: a signed head recorded earlier (printed by a previous verify); fails if it is no "
                             "longer in the chain, which is how a truncated log shows")
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    use_key_secret(settings.message_log_key_secret)
    engine = existing_engine(settings, MessageLogEntry.__tablename__)
    if args.command == "sign":
        signature = sign_head(engine)
        print(f"signed head at row {signature.head_seq}" if signature else "nothing new to sign")
        return 0
    if args.command == "keys":
        print(json.dumps(public_keys(engine), indent=2))
        return 0
    trusted = None
    if args.trusted_keys:
        trusted = {key["kid"]: ECKey.import_key(key) for key in json.loads(Path(args.trusted_keys).read_text())["keys"]}
    result = verify(engine, trusted=trusted, expect_head=args.expect_head)
    if result.ok:
        print(f"message log chain verified: {result.rows} rows, {result.signatures} signatures")
        # Kept outside the database, the head lets a later verify (--expect-head) detect rows deleted from the end.
        print(f"signed head: {result.head[0]}:{result.head[1]}" if result.head else "signed head: none (the log is empty)")
        return 0
    print(f"message log chain broken at row {result.broken_seq}: {result.reason}", file=sys.stderr)
    return 1


def _head_argument(value: str) -> tuple[int, str]:
    import argparse

    seq, _, head_hash = value.partition(":")
    if not seq.isdigit() or len(head_hash) != 64 or head_hash.strip("0123456789abcdef"):
        raise argparse.ArgumentTypeError(f"expected SEQ:HASH as verify prints it (a row number, a 64-digit hex hash), not {value!r}")
    return int(seq), head_hash


if __name__ == "__main__":
    sys.exit(main())
