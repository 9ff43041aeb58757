"""Consent on SQLite (`make run` without DATABASE_URL): stored times read back as the same instant, aware and in UTC,
so a record's createdAt is shown as PostgreSQL would show it (kernel.db keeps SQLite's times in UTC and aware)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from consent.models import ConsentRecord, DataAgreement, Individual, WebhookPush
from consent.settings import ConsentSettings
from kernel.testing import local_database

VIENTIANE = timezone(timedelta(hours=7))


@pytest.fixture
def engine(tmp_path):
    with local_database(ConsentSettings(data_dir=tmp_path), "consent.migrations") as engine:
        yield engine


def test_a_consent_records_creation_time_reads_back_as_the_same_instant_in_utc(engine):
    with Session(engine) as session:
        session.add_all([DataAgreement(id="a1", version="1", purpose="p", lawful_basis="consent", dpia="d"), Individual(id="i1")])
        session.flush()
        session.add(ConsentRecord(id="c1", data_agreement_id="a1", data_agreement_revision_id="rev", data_agreement_revision_hash="h",
                                  individual_id="i1", opt_in=True, state="unsigned",
                                  created_at=datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE)))
        session.commit()

    with Session(engine) as session:
        record = session.exec(select(ConsentRecord)).one()

    # routes/records.py shows r.created_at.isoformat() to the citizen: a naive 10:00 read as UTC was 7 hours off.
    assert record.created_at.isoformat() == "2026-01-01T03:00:00+00:00"


def test_webhook_pushes_fall_due_by_instant(engine):
    due_at = datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE)  # 03:00 UTC
    with Session(engine) as session:
        session.add(WebhookPush(id="p1", webhook_id="w1", event_id="e1", event_type="t", body="{}", next_attempt_at=due_at,
                                created_at=due_at))
        session.commit()

    def due(now: datetime) -> list[str]:
        with Session(engine) as session:
            return list(session.exec(select(WebhookPush.id).where(WebhookPush.next_attempt_at <= now)).all())

    assert due(datetime(2026, 1, 1, 3, 30, tzinfo=timezone.utc)) == ["p1"]
    assert due(datetime(2026, 1, 1, 2, 30, tzinfo=timezone.utc)) == []
    with Session(engine) as session:
        push = session.get(WebhookPush, "p1")
        assert datetime(2026, 1, 1, 3, 30, tzinfo=timezone.utc) - push.created_at == timedelta(minutes=30)
