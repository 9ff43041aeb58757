"""The upgrade that ends subscriptions instead of deleting them, on both databases the gateway runs on, with deliveries
already referencing the subscriptions (SQLite rebuilds the table for it, under its foreign keys)."""
import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gateway.settings import GatewaySettings
from kernel.db import make_engine, migrate, migrations_config

BEFORE = "c4e2a9d17f03"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_before(request, infrastructure, tmp_path):
    """A gateway database migrated up to the revision before, holding a room, a subscription and one delivery to it."""
    url = f"sqlite:///{tmp_path}/gateway.db" if request.param == "sqlite" \
        else infrastructure.new_database(f"pubsub_upgrade_{uuid.uuid4().hex[:6]}")
    engine = make_engine(GatewaySettings(database_url=url, data_dir=tmp_path))
    with engine.begin() as connection:
        command.upgrade(migrations_config("gateway.migrations", connection), BEFORE)
        for statement in (
            "INSERT INTO member (id, instance, member_class, code, name, status, created_at) "
            "VALUES ('m', 'LA', 'GOV', 'CIV', '', 'approved', CURRENT_TIMESTAMP)",
            "INSERT INTO application (id, member_id, code, connection, is_room, status, created_at) "
            "VALUES ('room', 'm', 'events', 'https', true, 'approved', CURRENT_TIMESTAMP)",
            "INSERT INTO application (id, member_id, code, connection, is_room, status, created_at) "
            "VALUES ('school', 'm', 'school', 'https', false, 'approved', CURRENT_TIMESTAMP)",
            # the service an event type named "api" made, which hid the room's api section
            "INSERT INTO service (id, application_id, code, url, openapi, version, enabled, status, created_at) "
            "VALUES ('api', 'room', 'api', 'pubsub://room', '{}', 'v1', true, 'approved', CURRENT_TIMESTAMP)",
            "INSERT INTO subscription (id, room_id, event_type, subscriber_id, delivery, ttl, fifo, created_at, max_attempts) "
            "VALUES ('sub', 'room', 'newBirth', 'school', 'PULL', 3600, false, CURRENT_TIMESTAMP, 3)",
            "INSERT INTO published_event (id, room_id, event_type, publisher, payload, stopped, received_at) "
            "VALUES ('e1', 'room', 'newBirth', 'p', '{}', false, CURRENT_TIMESTAMP)",
            "INSERT INTO delivery (id, event_id, subscription_id, status, attempts, updated_at) "
            "VALUES ('d1', 'e1', 'sub', 'acknowledged', 0, CURRENT_TIMESTAMP)",
        ):
            connection.execute(text(statement))
    yield engine
    engine.dispose()


def _subscribe(connection, subscription_id: str) -> None:
    connection.execute(text("INSERT INTO subscription (id, room_id, event_type, subscriber_id, delivery, ttl, fifo, created_at) "
                            "VALUES (:id, 'room', 'newBirth', 'school', 'PULL', 3600, false, CURRENT_TIMESTAMP)"), {"id": subscription_id})


def test_the_upgrade_keeps_subscriptions_and_their_deliveries(engine_before):
    migrate(engine_before, "gateway.migrations")

    with engine_before.connect() as connection:
        rows = connection.execute(text("SELECT d.id, s.id, s.max_attempts, s.ended_at FROM delivery d "
                                       "JOIN subscription s ON s.id = d.subscription_id")).all()
    assert rows == [("d1", "sub", 3, None)]


def test_after_the_upgrade_an_ended_subscription_stays_beside_a_new_one_but_two_open_ones_do_not(engine_before):
    migrate(engine_before, "gateway.migrations")

    with engine_before.begin() as connection:
        connection.execute(text("UPDATE subscription SET ended_at = CURRENT_TIMESTAMP WHERE id = 'sub'"))
        _subscribe(connection, "again")
    with pytest.raises(IntegrityError), engine_before.begin() as connection:
        _subscribe(connection, "twice")
    with pytest.raises(IntegrityError), engine_before.begin() as connection:
        connection.execute(text("DELETE FROM subscription WHERE id = 'sub'"))  # its delivery still refers to it


def test_the_upgrade_frees_a_section_an_event_type_had_taken(engine_before):
    migrate(engine_before, "gateway.migrations")

    with engine_before.connect() as connection:
        assert connection.execute(text("SELECT status FROM service WHERE id = 'api'")).scalar() == "removed"
