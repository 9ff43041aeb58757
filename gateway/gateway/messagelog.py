"""The message log: exchange metadata hash-chained row to row, chain heads signed; `python -m gateway.messagelog verify`."""
import asyncio
import hashlib
import json
import logging
import sys
import threading
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from gateway.models import ChainSignature, MessageLogEntry, SigningKey

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_HASHED = ("message_id", "client", "service", "method", "path", "status", "outcome", "error", "request_size",
           "response_size", "request_hash", "response_hash", "started_at", "finished_at", "request_body", "response_body")


@dataclass
class Exchange:
    """What the forwarding path hands to the log; written later, off the hot path."""

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
    attempts: int = field(default=0, compare=False)  # failed writes, not part of the record


# The stored columns of an exchange, read field by field: dataclasses.asdict deep-copies every value (a third of the
# writer's time under load).
_COLUMNS = tuple(f.name for f in fields(Exchange) if f.name != "attempts")


def _micros(value: datetime) -> int:
    # SQLite gives naive datetimes back; they were written in UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1_000_000)


def row_hash(prev_hash: str, fields: dict) -> str:
    """SHA-256 over the previous row's hash and this row's canonical JSON."""
    canonical = {name: (_micros(fields[name]) if isinstance(fields[name], datetime) else fields[name]) for name in _HASHED}
    payload = prev_hash + json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


# Appends and head signatures of one process never overlap (SQLite would refuse the second writer).
_chain_writer = threading.Lock()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Several gateway processes append to one chain; one at a time keeps it linear.
        session.exec(text("SELECT pg_advisory_xact_lock(727275)"))


def _head(session: Session) -> MessageLogEntry | None:
    return session.exec(select(MessageLogEntry).order_by(MessageLogEntry.seq.desc()).limit(1)).first()


def append(engine: Engine, exchanges: list[Exchange]) -> None:
    """Append exchanges to the chain in one transaction."""
    with _chain_writer, Session(engine) as session:
        _lock_chain(session)
        head = _head(session)
        prev = head.row_hash if head else GENESIS
        rows = []
        for exchange in exchanges:
            columns = {name: getattr(exchange, name) for name in _COLUMNS}
            current = row_hash(prev, columns)
            rows.append({**columns, "prev_hash": prev, "row_hash": current})
            prev = current
        # One multi-row INSERT in chain order (seq follows it): far cheaper than ORM objects on a busy gateway.
        session.execute(insert(MessageLogEntry.__table__), rows)
        session.commit()


def signing_key(session: Session) -> ECKey:
    stored = session.exec(select(SigningKey).order_by(SigningKey.created_at.desc()).limit(1)).first()
    if stored is not None:
        return ECKey.import_key(stored.private_jwk)
    key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256"})
    session.add(SigningKey(kid=key.kid, private_jwk=key.as_dict(private=True)))
    session.flush()
    return key


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
        key = signing_key(session)
        payload = json.dumps({"seq": head.seq, "hash": head.row_hash, "iat": int(datetime.now(timezone.utc).timestamp())})
        token = jws.serialize_compact({"alg": "ES256", "kid": key.kid}, payload, key)
        signature = ChainSignature(head_seq=head.seq, head_hash=head.row_hash, kid=key.kid, jws=token)
        session.add(signature)
        session.commit()
        return signature


@dataclass
class Verification:
    rows: int
    signatures: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(engine: Engine) -> Verification:
    """Walk the chain in order; report the first row whose link or content does not match, or a bad signature."""
    rows = 0
    hashes: dict[int, str] = {}
    with Session(engine) as session:
        prev = GENESIS
        for entry in session.exec(select(MessageLogEntry).order_by(MessageLogEntry.seq)).yield_per(1000):
            rows += 1
            if entry.prev_hash != prev:
                return Verification(rows, 0, entry.seq, "the link to the previous row does not match")
            if row_hash(prev, entry.model_dump()) != entry.row_hash:
                return Verification(rows, 0, entry.seq, "the row's content does not match its hash")
            hashes[entry.seq] = entry.row_hash
            prev = entry.row_hash
        keys = {k.kid: ECKey.import_key(k.private_jwk) for k in session.exec(select(SigningKey))}
        signatures = list(session.exec(select(ChainSignature).order_by(ChainSignature.head_seq)))
    for signature in signatures:
        key = keys.get(signature.kid)
        try:
            payload = json.loads(jws.deserialize_compact(signature.jws, key, algorithms=["ES256"]).payload)
        except Exception:
            return Verification(rows, len(signatures), signature.head_seq, "a chain signature does not verify")
        if payload.get("hash") != hashes.get(signature.head_seq) or payload.get("seq") != signature.head_seq:
            return Verification(rows, len(signatures), signature.head_seq, "a signed chain head does not match the row")
    return Verification(rows, len(signatures))


class MessageLogWriter:
    """Collects exchanges from the forwarding path and appends them in batches; signs the head periodically."""

    def __init__(self, engine: Engine, *, batch_size: int, sign_interval: float, linger: float = 0.0):
        self.engine, self.batch_size, self.sign_interval, self.linger = engine, batch_size, sign_interval, linger
        self.queue: asyncio.Queue[Exchange] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    def record(self, exchange: Exchange) -> None:
        self.queue.put_nowait(exchange)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._sign_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
        await run_in_threadpool(sign_head, self.engine)

    async def flush(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            while not self.queue.empty():
                if not await self._write_batch():
                    break
            if self.queue.empty():
                return
        log.error("message log: %d exchanges could not be written before shutdown", self.queue.qsize())

    async def _write_batch(self) -> bool:
        batch = [await self.queue.get()]
        while not self.queue.empty() and len(batch) < self.batch_size:
            batch.append(self.queue.get_nowait())
        try:
            await run_in_threadpool(append, self.engine, batch)
            return True
        except Exception:
            log.exception("message log write failed for %d exchanges", len(batch))
        # Database down, or one row it refuses: write one by one so a bad row cannot hold back the others.
        await asyncio.sleep(0.5)
        written, failed = 0, []
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
            else:
                self.queue.put_nowait(exchange)
        if written == 0:
            await asyncio.sleep(1.0)
        return written > 0

    async def _write_loop(self) -> None:
        while True:
            await self._write_batch()
            if self.linger and self.queue.qsize() < self.batch_size:
                # Let a batch gather: the chain lock, head read and commit are paid once for many exchanges. Nothing is
                # taken from the queue while waiting, so a stop here loses nothing (stop() flushes the queue).
                await asyncio.sleep(self.linger)

    async def _sign_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sign_interval)
            try:
                await run_in_threadpool(sign_head, self.engine)
            except Exception:
                log.exception("signing the message log head failed")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from gateway.settings import GatewaySettings
    from kernel.db import make_engine

    parser = argparse.ArgumentParser(prog="python -m gateway.messagelog")
    parser.add_argument("command", choices=["verify", "sign"])
    args = parser.parse_args(argv)
    engine = make_engine(GatewaySettings())
    if args.command == "sign":
        signature = sign_head(engine)
        print(f"signed head at row {signature.head_seq}" if signature else "nothing new to sign")
        return 0
    result = verify(engine)
    if result.ok:
        print(f"message log chain verified: {result.rows} rows, {result.signatures} signatures")
        return 0
    print(f"message log chain broken at row {result.broken_seq}: {result.reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
