"""SQLite (`make run` without DATABASE_URL) keeps DateTime(timezone=True) columns as PostgreSQL does: a time with an offset
is the same instant when read back, every time read back is aware and in UTC, and comparisons in SQL are of instants.
SQLAlchemy's own SQLite type dropped the offset (10:00+07:00 came back as a naive 10:00, then read as UTC) and handed
back naive datetimes, which raise TypeError when compared with aware ones."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select, text

from kernel.db import UnitOfWork, make_engine
from kernel.events import Event
from kernel.outbox import OutboxMessage
from kernel.settings import ServiceSettings

VIENTIANE = timezone(timedelta(hours=7))
metadata = MetaData()
times = Table("times", metadata, Column("id", Integer, primary_key=True), Column("at", DateTime(timezone=True)),
              Column("naive", DateTime()))


class Stamped(Event):
    type = "timestamps.stamped"
    note: str


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(ServiceSettings(service_name="timestamps", data_dir=tmp_path))
    assert engine.dialect.name == "sqlite"
    metadata.create_all(engine)
    OutboxMessage.__table__.create(engine)
    yield engine
    engine.dispose()


def _insert(engine, **row):
    with engine.begin() as connection:
        connection.execute(insert(times), row)


def test_a_time_with_an_offset_comes_back_as_the_same_instant_aware_in_utc(engine):
    _insert(engine, id=1, at=datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE))

    with engine.connect() as connection:
        at = connection.execute(select(times.c.at)).scalar_one()

    assert at == datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert at.utcoffset() == timedelta(0)
    assert at.isoformat() == "2026-01-01T03:00:00+00:00"


def test_the_stored_text_is_utc_in_sqlites_usual_format(engine):
    # Files written before the fix hold naive UTC text in this same format: they need no migration.
    _insert(engine, id=1, at=datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE))

    with engine.connect() as connection:
        assert connection.execute(text("SELECT at FROM times")).scalar_one() == "2026-01-01 03:00:00.000000"


def test_rows_written_before_the_fix_read_back_aware(engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO times (id, at) VALUES (1, '2026-01-01 03:00:00.000000')"))

    with engine.connect() as connection:
        at = connection.execute(select(times.c.at)).scalar_one()

    assert at == datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert at < datetime.now(timezone.utc)  # naive: TypeError, a 500 in a route


def test_comparisons_in_sql_are_of_instants_whatever_the_offsets(engine):
    _insert(engine, id=1, at=datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc))

    def found(condition) -> list[int]:
        with engine.connect() as connection:
            return list(connection.execute(select(times.c.id).where(condition)).scalars())

    assert found(times.c.at >= datetime(2026, 1, 1, 9, 30, tzinfo=VIENTIANE)) == [1]  # 02:30 UTC
    assert found(times.c.at > datetime(2026, 1, 1, 10, 30, tzinfo=VIENTIANE)) == []  # 03:30 UTC
    assert found(times.c.at == datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE)) == [1]


def test_aggregates_of_a_time_column_are_aware(engine):
    _insert(engine, id=1, at=datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE))
    _insert(engine, id=2, at=datetime(2026, 1, 1, 4, 0, tzinfo=timezone.utc))

    with engine.connect() as connection:
        oldest = connection.execute(select(func.min(times.c.at))).scalar_one()

    assert oldest == datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc) and oldest.tzinfo is not None


def test_columns_without_a_time_zone_keep_naive_values(engine):
    _insert(engine, id=1, naive=datetime(2026, 1, 1, 10, 0))

    with engine.connect() as connection:
        assert connection.execute(select(times.c.naive)).scalar_one() == datetime(2026, 1, 1, 10, 0)


def test_a_null_time_stays_null(engine):
    _insert(engine, id=1, at=None)

    with engine.connect() as connection:
        assert connection.execute(select(times.c.at)).scalar_one() is None


def test_outbox_times_read_back_aware(engine):
    # The relay stamps each AMQP message with int(message.time.timestamp()): a naive time was read in local time.
    with UnitOfWork(engine, source="timestamps") as uow:
        envelope = uow.emit(Stamped(note="x"))
        uow.commit()

    with UnitOfWork(engine, source="timestamps") as uow:
        stored = uow.session.scalars(select(OutboxMessage)).one()
        assert stored.time == envelope.time and stored.time.utcoffset() == timedelta(0)
        assert int(stored.time.timestamp()) == int(envelope.time.timestamp())
