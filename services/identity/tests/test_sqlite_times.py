"""Identity on SQLite (`make run` without DATABASE_URL): enrolment times and the search's createdFrom/createdTo bounds are
instants, whatever offset the caller wrote them with (kernel.db keeps SQLite's times in UTC and aware)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from identity import enrollment as enrolments
from identity.models import Enrollment
from identity.settings import IdentitySettings
from kernel.testing import local_database

VIENTIANE = timezone(timedelta(hours=7))


@pytest.fixture
def engine(tmp_path):
    with local_database(IdentitySettings(data_dir=tmp_path), "identity.migrations") as engine:
        yield engine


def _enrol(engine, enrollment_id: str, created_at: datetime) -> None:
    with Session(engine) as session:
        session.add(Enrollment(id=enrollment_id, process="NEW", source="sqlite-times", created_at=created_at, updated_at=created_at))
        session.commit()


def _search(engine, **bounds) -> list[str]:
    with Session(engine) as session:
        found, _total = enrolments.search_uncommitted(session, enrolments.search_query(
            status=None, process=None, source="sqlite-times", offset=None, limit=None, **{"created_from": None, "created_to": None, **bounds}))
        return [enrollment.id for enrollment in found]


def test_an_enrolment_time_given_with_an_offset_reads_back_as_the_same_instant_in_utc(engine):
    _enrol(engine, "e1", datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE))

    with Session(engine) as session:
        stored = session.exec(select(Enrollment).where(Enrollment.id == "e1")).one()

    assert stored.created_at == datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    assert stored.created_at.isoformat() == "2026-01-01T03:00:00+00:00"  # as on PostgreSQL, not a naive 10:00


def test_search_bounds_with_an_offset_select_by_instant(engine):
    _enrol(engine, "early", datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc))
    _enrol(engine, "late", datetime(2026, 1, 1, 5, 0, tzinfo=timezone.utc))

    assert _search(engine, created_from="2026-01-01T11:00:00+07:00") == ["late"]  # 04:00 UTC
    assert _search(engine, created_to="2026-01-01T11:00:00+07:00") == ["early"]
    assert _search(engine, created_from="2026-01-01T10:00:00+07:00", created_to="2026-01-01T12:00:00+07:00") == ["early", "late"]


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_bound_outside_the_years_utc_can_hold_is_invalid_not_a_server_error(engine, bound):
    with pytest.raises(enrolments.Invalid) as refused:
        _search(engine, created_from=bound)

    assert refused.value.code == "invalid_request"
