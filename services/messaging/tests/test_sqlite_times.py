"""Messaging on SQLite (`make run` without DATABASE_URL): stored times read back as the same instant, aware and in UTC,
so what the API shows is what PostgreSQL would show (kernel.db keeps SQLite's times in UTC and aware)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from kernel.testing import local_database
from messaging import history
from messaging.models import ApiKey, Message, MessageStatusEvent, SendRequest
from messaging.routes.admin import _read
from messaging.schemas import ApiKeyRead
from messaging.settings import MessagingSettings

VIENTIANE = timezone(timedelta(hours=7))


@pytest.fixture
def engine(tmp_path):
    with local_database(MessagingSettings(data_dir=tmp_path), "messaging.migrations") as engine:
        yield engine


def test_an_api_keys_times_are_shown_as_the_instants_stored(engine):
    with Session(engine) as session:
        session.add(ApiKey(id="k1", name="portal", key_hash="0" * 64, created_at=datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE),
                           revoked_at=datetime(2026, 1, 2, 10, 0, tzinfo=VIENTIANE)))
        session.commit()

    with Session(engine) as session:
        shown = ApiKeyRead(**_read(session.exec(select(ApiKey)).one())).model_dump(mode="json")

    assert (shown["createdAt"], shown["revokedAt"]) == ("2026-01-01T03:00:00Z", "2026-01-02T03:00:00Z")


def test_status_history_times_are_aware_utc(engine):
    at = datetime(2026, 1, 1, 10, 0, tzinfo=VIENTIANE)
    with Session(engine) as session:
        session.add(SendRequest(id="r1", request_uid="uid-1", caller="internal", channel="email", priority="normal",
                                content_hash="0" * 64, dedupe_window=0, created_at=at))
        session.flush()
        session.add(Message(id="m1", request_id="r1", created_at=at, updated_at=at))
        session.flush()
        session.add(MessageStatusEvent(message_id="m1", status="queued", source="api", at=at))
        session.commit()

    with Session(engine) as session:
        [event] = history.of_messages(session, ["m1"])
        message = session.get(Message, "m1")

    assert event.at.isoformat() == "2026-01-01T03:00:00+00:00"  # the form routes/messages.py shows
    assert message.created_at == at and message.created_at.utcoffset() == timedelta(0)
    assert datetime.now(timezone.utc) - message.created_at > timedelta(0)  # naive: TypeError
