"""The verification fast path's in-process index: answers (and verified tokens) kept in memory, coherent with the database.

Coherence: every transaction that changes a consent record or a data agreement sends a PostgreSQL NOTIFY (delivered
only if it commits); each API worker LISTENs on one connection and drops the answers the change touches, and a commit
in this process drops them itself before its response leaves, so its own caller never reads an old answer. A lookup
stores its answer only if no change arrived while it read the database (the generation check), so a slow read cannot
put back an answer a change has just dropped. While the listener is not connected the index is off and every call
reads the database. Entries also expire after VERIFICATION_CACHE_SECONDS, as a bound should a notification be lost.
SQLite (development, `make run`) has no NOTIFY, but there the single API process is the only writer of consent records
and agreements (the consumer only queues webhook pushes), so the index is on with the commit hook alone; with
API_WORKERS above 1 on SQLite it stays off.
"""
import logging
import threading
import time
import weakref
from dataclasses import dataclass

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from consent.models import ConsentRecord, DataAgreement

log = logging.getLogger(__name__)

CHANNEL = "consent_verification"
APPLICATION_NAME = "consent-verification-listener"  # how its connection shows in pg_stat_activity
ALL = "*"  # an agreement changed: every answer may change (agreements change rarely, records often)
MAX_ENTRIES = 200_000  # a full index is cleared rather than evicted entry by entry: simple, and rare
_CHANGES = "consent_verification_changes"


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes  # the JSON response, built once
    expires: float


class VerificationIndex:
    def __init__(self, *, ttl_seconds: float):
        self.ttl = ttl_seconds
        self.enabled = False  # on only while the listener is connected
        self.generation = 0
        self._answers: dict[tuple[str, str], Answer] = {}
        self._lock = threading.Lock()

    def get(self, individual_id: str, agreement_id: str) -> bytes | None:
        answer = self._answers.get((individual_id, agreement_id))
        if answer is None or answer.expires < time.monotonic():
            return None
        return answer.body

    def put(self, individual_id: str, agreement_id: str, body: bytes, *, generation: int) -> None:
        """Store an answer read while the index was at `generation`; dropped if a change came in since."""
        with self._lock:
            if not self.enabled or generation != self.generation:
                return
            if len(self._answers) >= MAX_ENTRIES:
                self._answers.clear()
            self._answers[(individual_id, agreement_id)] = Answer(body, time.monotonic() + self.ttl)

    def changed(self, individual_id: str, agreement_id: str) -> None:
        with self._lock:
            self.generation += 1
            if individual_id == ALL:
                self._answers.clear()
            else:
                self._answers.pop((individual_id, agreement_id), None)

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.generation += 1
            self.enabled = enabled
            self._answers.clear()


# Indexes by the connection pool of the engine their application writes through, for the commit hook below: by the
# pool, as a write request's session is bound to a copy of the engine with other options (kernel.db.for_writing on
# SQLite), which shares the pool but is another object.
_indexes: "weakref.WeakKeyDictionary[Pool, VerificationIndex]" = weakref.WeakKeyDictionary()


def register(engine: Engine, index: VerificationIndex) -> None:
    _indexes[engine.pool] = index


def _changes_in(session: Session) -> set[tuple[str, str]]:
    changes = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, ConsentRecord):
            changes.add((instance.individual_id, instance.data_agreement_id))
        elif isinstance(instance, DataAgreement):
            changes.add((ALL, instance.id))
    return changes


@event.listens_for(Session, "before_flush")
def _collect_changes(session: Session, _context, _instances) -> None:
    """Note what this flush changes, and NOTIFY the other workers (PostgreSQL delivers it only on commit)."""
    changes = _changes_in(session)
    if not changes:
        return
    session.info.setdefault(_CHANGES, set()).update(changes)
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        for individual_id, agreement_id in changes:
            connection.execute(text("SELECT pg_notify(:channel, :payload)"),
                               {"channel": CHANNEL, "payload": f"{individual_id} {agreement_id}"})


@event.listens_for(Session, "after_commit")
def _drop_changed_answers(session: Session) -> None:
    changes = session.info.pop(_CHANGES, None)
    index = _indexes.get(session.bind.pool) if changes else None
    if index is not None:
        for individual_id, agreement_id in changes:
            index.changed(individual_id, agreement_id)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGES, None)


def _libpq_url(engine: Engine) -> str:
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """LISTENs for changes in a daemon thread; the index is on only while it is connected."""

    def __init__(self, engine: Engine, index: VerificationIndex, *, reconnect_seconds: float = 1.0):
        self.conninfo, self.index, self.reconnect_seconds = _libpq_url(engine), index, reconnect_seconds
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, name="consent-verification-listener", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                # A dead connection delivers nothing and says nothing: the heartbeat query and TCP timeouts find it.
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=5,
                                     keepalives_interval=2, keepalives_count=2, tcp_user_timeout=5000,
                                     application_name=APPLICATION_NAME) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.index.set_enabled(True)  # only after LISTEN: no change can slip between
                    self.connected.set()
                    while not self.stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            individual_id, _, agreement_id = notice.payload.partition(" ")
                            self.index.changed(individual_id, agreement_id)
                        connection.execute("SELECT 1")
            except psycopg.Error:
                log.warning("verification index listener lost its connection; reading the database until it is back")
            finally:
                self.index.set_enabled(False)
                self.connected.clear()
            self.stop.wait(self.reconnect_seconds)
