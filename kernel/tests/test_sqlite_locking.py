"""SQLite (`make run` without DATABASE_URL): the API, relay and consumer processes share one file. A transaction that has
read and then writes must wait for the write lock, not fail; an idle relay must not take the lock at all."""
import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from kernel.db import UnitOfWork, for_writing, make_engine
from kernel.events import Event
from kernel.outbox import OutboxMessage
from kernel.relay import Publisher, relay_batch
from kernel.settings import ServiceSettings


class Pinged(Event):
    type = "locking.pinged"
    note: str


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(ServiceSettings(service_name="locking", data_dir=tmp_path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    OutboxMessage.__table__.create(engine)
    yield engine
    engine.dispose()


class _OtherWriter:
    """Another connection (another process, as far as SQLite knows) holding the write lock until released."""

    def __init__(self, tmp_path):
        self.engine = make_engine(ServiceSettings(service_name="locking", data_dir=tmp_path))
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        with for_writing(self.engine).begin() as connection:  # BEGIN IMMEDIATE: the lock, held until the commit
            self.holding.set()
            self.release.wait(5)
            connection.execute(text("UPDATE counter SET n = n + 10"))

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(5)
        threading.Timer(0.3, self.release.set).start()  # then it writes and commits
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(5)
        self.engine.dispose()


def test_a_deferred_transaction_that_has_read_fails_at_once_when_another_holds_the_write_lock(engine, tmp_path):
    # What went wrong: fixtures loading at start-up failed with "database is locked" while a relay polled.
    with pytest.raises(OperationalError, match="database is locked"):
        with engine.begin() as connection:
            connection.execute(text("SELECT n FROM counter")).one()
            with _OtherWriter(tmp_path):
                connection.execute(text("UPDATE counter SET n = n + 1"))


def test_for_writing_waits_for_the_lock_then_reads_and_writes(engine, tmp_path):
    with _OtherWriter(tmp_path):
        with for_writing(engine).begin() as connection:  # waits for the other's commit (busy_timeout), not fails
            seen = connection.execute(text("SELECT n FROM counter")).scalar_one()
            connection.execute(text("UPDATE counter SET n = n + 1"))

    assert seen == 10
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 11


def test_an_idle_relay_on_sqlite_does_not_write(engine):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    assert relay_batch(engine, publisher=None) == 0  # nothing to publish, so the publisher is never used

    assert statements and not any(s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in statements)


def test_a_relay_with_rows_to_send_waits_for_another_writer_and_sends_them(engine, tmp_path, infrastructure):
    with UnitOfWork(engine, source="locking") as uow:
        uow.emit(Pinged(note="hello"))
        uow.commit()
    publisher = Publisher(infrastructure.new_vhost("sqlite_locking"), "locking.events")
    try:
        with _OtherWriter(tmp_path):
            sent = relay_batch(engine, publisher)  # its claim starts as a write, so it waits; it does not fail
    finally:
        publisher.close()

    assert sent == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL")).scalar_one() == 0


def _counter_app(engine, read_done: threading.Event):
    """A service's write request as the building blocks have them (get_uow): read, then write, then commit."""
    import time

    from fastapi import FastAPI
    from sqlalchemy import text as sql

    from kernel.db import UowDep

    app = FastAPI()
    app.state.engine, app.state.settings = engine, ServiceSettings(service_name="locking")

    @app.post("/bump")
    def bump(uow: UowDep) -> dict:
        seen = uow.session.execute(sql("SELECT n FROM counter")).scalar_one()
        read_done.set()
        time.sleep(0.3)  # meanwhile another process starts writing
        uow.session.execute(sql("UPDATE counter SET n = n + 1"))
        uow.commit()
        return {"seen": seen}

    @app.get("/count")
    def count(uow: UowDep) -> dict:
        return {"n": uow.session.execute(sql("SELECT n FROM counter")).scalar_one()}

    return app


def test_a_write_request_waits_for_another_process_writing_instead_of_failing(engine, tmp_path):
    """What the tester saw under `make run`: a POST that had read failed with 500 "database is locked" because the
    relay or worker process wrote meanwhile. Write requests now take the lock when they begin."""
    import httpx

    from kernel.testing import serve

    read_done = threading.Event()
    other = make_engine(ServiceSettings(service_name="locking", data_dir=tmp_path))

    def other_process_writes():
        read_done.wait(5)
        with for_writing(other).begin() as connection:
            connection.execute(text("UPDATE counter SET n = n + 10"))
            threading.Event().wait(0.5)  # holds the lock past the request's write

    with serve(_counter_app(engine, read_done)) as url:
        writer = threading.Thread(target=other_process_writes)
        writer.start()
        response = httpx.post(f"{url}/bump", timeout=30)
        writer.join(10)
        total = httpx.get(f"{url}/count", timeout=30).json()["n"]
    other.dispose()

    assert response.status_code == 200, response.text
    assert total == 11


def test_a_read_request_does_not_wait_for_the_write_lock(engine, tmp_path):
    import httpx

    from kernel.testing import serve

    other = make_engine(ServiceSettings(service_name="locking", data_dir=tmp_path))
    with serve(_counter_app(engine, threading.Event())) as url, for_writing(other).begin() as holding:
        holding.execute(text("UPDATE counter SET n = n + 10"))  # the lock is held until this block ends
        response = httpx.get(f"{url}/count", timeout=5)  # a read that waited for the lock would time out here
    other.dispose()

    assert response.status_code == 200 and response.json() == {"n": 0}
