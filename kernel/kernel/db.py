"""Engine per service, migrations on start, and the unit of work that joins state changes and outbox rows."""
import contextlib
import fcntl
import functools
import importlib.resources
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import DateTime, Table, event, insert, inspect, make_url, text
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from kernel.events import Envelope, Event
from kernel.outbox import OutboxMessage
from kernel.settings import ServiceSettings
from kernel.telemetry import current_trace_headers


class _SqliteUtcDateTime(SQLITE_DATETIME):
    """`DateTime(timezone=True)` on SQLite as on PostgreSQL: a time with an offset is stored as the same instant in UTC
    (SQLite's own type writes the wall-clock time and drops the offset, so 10:00+07:00 came back as 10:00 UTC, and a
    comparison with such a time was off by the offset), and what is read back is aware, in UTC (SQLite's type gives naive
    datetimes, which fail comparisons with aware ones). Naive times are stored as given: every stored time is UTC.
    Columns without timezone=True keep SQLite's behaviour. The stored text is SQLite's usual format, so existing files
    need no migration (their times were written in UTC)."""

    def bind_processor(self, dialect):
        process = super().bind_processor(dialect)
        if not self.timezone or process is None:
            return process

        def to_utc(value):
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(timezone.utc)  # OverflowError beyond year 1..9999 in UTC: validate input first
            return process(value)
        return to_utc

    def result_processor(self, dialect, coltype):
        process = super().result_processor(dialect, coltype)
        if not self.timezone:
            return process

        def aware(value):
            if process is not None:
                value = process(value)
            if isinstance(value, datetime):
                return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
            return value
        return aware


def existing_engine(settings: ServiceSettings, table: str) -> Engine:
    """make_engine for an operator command that reads a service's data (verify, keys): exits with a plain message when
    the database, or the service's table in it, is not there. A mistyped DATABASE_URL or DATA_DIR must not leave an empty
    SQLite file behind and end in a traceback ("no such table")."""
    url = make_url(settings.sqlalchemy_url)
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        raise SystemExit(f"no database at {where}: set DATABASE_URL (or DATA_DIR) to the service's database")
    engine = make_engine(settings)
    try:
        present = inspect(engine).has_table(table)
    except DBAPIError as exc:
        engine.dispose()
        raise SystemExit(f"cannot open the database at {where}: {type(exc.orig).__name__}: {str(exc.orig).strip()}")
    if not present:
        engine.dispose()
        raise SystemExit(f"the database at {where} has no {table} table: is DATABASE_URL the service's database, migrated?")
    return engine


def make_engine(settings: ServiceSettings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)
        # This engine's dialect only (the "colspecs" SQLAlchemy documents as settable per instance), before any use:
        # every DateTime column and bound value maps to _SqliteUtcDateTime instead of SQLite's DATETIME.
        engine.dialect.colspecs = {**engine.dialect.colspecs, DateTime: _SqliteUtcDateTime}

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the API, relay and consumer processes share one file without blocking readers.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN (SQLAlchemy's recipe).
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # A deferred transaction that has read cannot wait for the write lock: SQLite fails it at once ("database
            # is locked") while another process (a relay, a consumer) holds it. for_writing() takes the lock up front.
            immediate = connection.get_execution_options().get(_BEGIN_IMMEDIATE)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # hide_parameters: a failed statement's values are user input (personal data); they must not reach the logs.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


_BEGIN_IMMEDIATE = "sqlite_begin_immediate"


def for_writing(engine: Engine) -> Engine:
    """The engine for a transaction that reads and then writes (start-up work such as fixtures, write requests): on
    SQLite it takes the write lock at BEGIN, waiting for it instead of failing on the way. Within it, another session of
    the same thread must not write: it would wait for this one's lock."""
    return engine.execution_options(**{_BEGIN_IMMEDIATE: True}) if engine.dialect.name == "sqlite" else engine


def make_autocommit_engine(settings: ServiceSettings, engine: Engine, *, pool_size: int = 10) -> Engine:
    """For hot paths of one or two statements: on PostgreSQL, autocommit connections without a ping on checkout (the
    default engine's ping, BEGIN and COMMIT are three round trips more per request); on SQLite, the service's engine.

    Without the ping, a connection the server dropped fails once: read through `read_one`, which retries on a fresh one.
    """
    if not settings.is_postgres:
        return engine
    return create_engine(settings.sqlalchemy_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None,
                         pool_size=pool_size, max_overflow=pool_size, hide_parameters=True)


def read_one(engine: Engine, statement, parameters: dict):
    """The first row of a read (or None), retried once on a fresh connection when the pooled one turns out dropped."""
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return connection.execute(statement, parameters).first()
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    return None


def migrations_config(migrations_package: str, connection) -> Config:
    """Alembic's configuration for a service's migrations, run on this connection (tests also step to one revision)."""
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files(migrations_package)))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, migrations_package: str) -> None:
    """Apply the service's alembic migrations up to head (serialised across processes on PostgreSQL)."""
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # API, relay and consumer start together; one migrates, the others wait for it.
            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        command.upgrade(migrations_config(migrations_package, connection), "head")


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine):
    """API, relay and consumer start together; on SQLite a lock file lets one migrate while the others wait."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@functools.lru_cache(maxsize=64)
def _json_insert(table: Table, columns: tuple[str, ...], dialect):
    quote = dialect.identifier_preparer
    names, table_name = ", ".join(quote.quote(name) for name in columns), quote.format_table(table)
    return text(f"INSERT INTO {table_name} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table_name}, CAST(:rows AS JSON))")


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value insert_rows can send")


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert rows (all with the same keys) in one statement. On PostgreSQL the rows travel as one JSON document that
    the server turns into the table's row type, so the statement's text is the same whatever the number of rows: what
    the ORM and executemany send (a multi-row VALUES statement, new text per size, parsed anew by the driver each time,
    or arrays per column, dumped element by element) was most of a batch insert's CPU when profiled."""
    if not rows:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    statement = _json_insert(table, tuple(rows[0]), bind.dialect)
    session.execute(statement, {"rows": json.dumps(rows, default=_json_value, ensure_ascii=False)})


OUTBOX_CHANNEL = "outbox"  # PostgreSQL NOTIFY channel: "a transaction that emitted events has committed" (see relay.py)
_NOTIFY_OUTBOX = text(f"NOTIFY {OUTBOX_CHANNEL}")


class UnitOfWork:
    """A session plus the outbox: nothing is stored or emitted unless commit() is called."""

    def __init__(self, engine: Engine, *, source: str):
        self.session = Session(engine, expire_on_commit=False)
        self.source = source
        self._committed = False
        self._emitted = False  # events are in the outbox for the next commit

    def emit(self, event: Event) -> Envelope:
        self._emitted = True
        envelope = Envelope.new(source=self.source, type=event.type, subject=event.subject(), data=event.model_dump(mode="json"))
        self.session.add(
            OutboxMessage(
                id=envelope.id, type=envelope.type, source=envelope.source, subject=envelope.subject,
                time=envelope.time, data=envelope.data, headers=current_trace_headers(),
            )
        )
        return envelope

    def emit_all(self, events: list[Event]) -> None:
        """emit() for each of these events, in one statement (per-recipient events of a batch send, for instance)."""
        if not events:
            return
        self._emitted = True
        self.session.flush()  # rows emit() added before keep their place in the publish order
        now, headers = datetime.now(timezone.utc), current_trace_headers()
        insert_rows(self.session, OutboxMessage.__table__, [
            {"id": str(uuid.uuid4()), "type": event.type, "source": self.source, "subject": event.subject(), "time": now,
             "data": event.model_dump(mode="json"), "headers": headers} for event in events])

    def commit(self) -> None:
        if self._emitted and self.session.get_bind().dialect.name == "postgresql":
            # Delivered when this transaction commits, never if it rolls back: wakes the relays waiting in LISTEN.
            self.session.execute(_NOTIFY_OUTBOX)
        self.session.commit()
        self._committed = True
        self._emitted = False

    def rollback(self) -> None:
        self.session.rollback()
        self._emitted = False

    def close(self) -> None:
        if not self._committed:
            self.session.rollback()
        self.session.close()

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_uow(request: Request):
    engine = request.app.state.engine
    if request.method not in _READS:
        # SQLite: a request that reads and then writes would fail at once ("database is locked") whenever the relay,
        # consumer or worker process holds the write lock; it waits for the lock instead (for_writing).
        engine = for_writing(engine)
    uow = UnitOfWork(engine, source=request.app.state.settings.service_name)
    try:
        yield uow
    finally:
        uow.close()


UowDep = Annotated[UnitOfWork, Depends(get_uow)]
