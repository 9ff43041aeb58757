"""On PostgreSQL an idle relay is woken by the NOTIFY of a commit that emitted events, instead of polling the outbox.

The relays here poll rarely (poll_seconds and idle_seconds far above the waits), so an event that arrives in time was
announced, not found by a poll. Real PostgreSQL and RabbitMQ.
"""
import threading
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import text

from kernel import relay
from kernel.db import OUTBOX_CHANNEL, UnitOfWork
from kernel.outbox import OutboxMessage
from kernel.testing import running, wait_until

from .conftest import Note, NoteCreated, emit_note
from .test_event_bus import declare, queue_depth

RARELY = 30.0  # seconds: longer than any wait below


def _listeners(engine) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = :listen"),
            {"listen": f"LISTEN {OUTBOX_CHANNEL}"}).scalars())


def _relay(engine, settings, **timing):
    return running(lambda stop: relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop, **timing))


def _notifications(engine, act) -> list:
    """The outbox notifications a listener receives while act() runs (and shortly after)."""
    raw = engine.raw_connection()
    raw.detach()
    listener = raw.dbapi_connection
    listener.autocommit = True
    listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
    try:
        act()
        return list(listener.notifies(timeout=0.5))
    finally:
        raw.close()  # detached: closes the connection


def test_a_commit_that_emitted_events_notifies_and_nothing_else_does(engine):
    def emit(commit: bool):
        with UnitOfWork(engine, source="kernel-test") as uow:
            note = Note(text="hello")
            uow.session.add(note)
            uow.emit(NoteCreated(note_id=note.id))
            uow.commit() if commit else uow.rollback()

    def store_without_events():
        with UnitOfWork(engine, source="kernel-test") as uow:
            uow.session.add(Note(text="no event"))
            uow.commit()

    assert [n.channel for n in _notifications(engine, lambda: emit(commit=True))] == [OUTBOX_CHANNEL]
    assert _notifications(engine, lambda: emit(commit=False)) == []
    assert _notifications(engine, store_without_events) == []


def test_an_idle_relay_publishes_a_committed_event_when_notified(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    before = _listeners(engine)
    with _relay(engine, settings, poll_seconds=RARELY, idle_seconds=RARELY):
        wait_until(lambda: _listeners(engine) - before, message="the relay to listen")
        time.sleep(0.3)  # the relay has looked at the outbox once more and waits
        emit_note(engine, routing_key)
        wait_until(lambda: queue_depth(settings, queue) == 1, timeout=10, message="the event, announced, to be published")


def test_rows_nobody_announced_are_still_published_after_idle_seconds(engine, settings, routing_key):
    """A claim rolled back after a broker failure gives its rows back without a NOTIFY; the idle look finds them."""
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    before = _listeners(engine)
    with _relay(engine, settings, poll_seconds=RARELY, idle_seconds=0.5):
        wait_until(lambda: _listeners(engine) - before, message="the relay to listen")
        with engine.begin() as connection:  # straight into the table: no UnitOfWork, so no notification
            connection.execute(OutboxMessage.__table__.insert().values(
                id=str(uuid.uuid4()), type=routing_key, source="kernel-test", subject="", time=datetime.now(timezone.utc),
                data={"note_id": "unannounced"}, headers={}))
        wait_until(lambda: queue_depth(settings, queue) == 1, timeout=10, message="the unannounced row to be published")


def test_the_relay_listens_again_after_losing_its_connection(engine, settings, routing_key):
    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    before = _listeners(engine)
    # Polls every 1.5 s only while it cannot listen (the reconnect waits 1 s); when listening, only notifications count.
    with _relay(engine, settings, poll_seconds=1.5, idle_seconds=RARELY):
        wait_until(lambda: _listeners(engine) - before, message="the relay to listen")
        [first] = _listeners(engine) - before
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
        wait_until(lambda: _listeners(engine) - before - {first}, timeout=15, message="the relay to listen again")
        time.sleep(0.3)
        emit_note(engine, routing_key)
        wait_until(lambda: queue_depth(settings, queue) == 1, timeout=10, message="the event to be published")


def test_a_waiting_relay_stops_promptly(engine, settings):
    stop = threading.Event()
    before = _listeners(engine)
    thread = threading.Thread(target=relay.run, args=(engine,), daemon=True,
                              kwargs={"amqp_url": settings.amqp_url, "exchange": settings.events_exchange, "stop": stop,
                                      "poll_seconds": RARELY, "idle_seconds": RARELY})
    thread.start()
    wait_until(lambda: _listeners(engine) - before, message="the relay to listen")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the relay kept waiting for a notification after it was told to stop"
    wait_until(lambda: not (_listeners(engine) - before), message="the relay's listening connection to close")


def test_on_sqlite_the_relay_polls(tmp_path):
    """No LISTEN on SQLite: the relay polls every poll_seconds, not every idle_seconds."""
    from sqlmodel import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    wakeups = relay.Wakeups(engine, poll_seconds=0.05, idle_seconds=RARELY)
    started = time.monotonic()
    wakeups.wait(threading.Event())
    assert wakeups.listening is None and time.monotonic() - started < RARELY
