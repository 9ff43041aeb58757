import uuid

import pytest
from sqlmodel import Field

from kernel.db import UnitOfWork, make_engine
from kernel.events import Event
from kernel.outbox import service_base
from kernel.settings import ServiceSettings

Base = service_base()


class Note(Base, table=True):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True)
    text: str


class Effect(Base, table=True):
    """What a test handler leaves behind: one row per handled message."""

    message_id: str = Field(primary_key=True)


class NoteCreated(Event):
    type = "test.note.created"
    note_id: str


@pytest.fixture(scope="session")
def settings(infrastructure) -> ServiceSettings:
    return ServiceSettings(service_name="kernel-test", database_url=infrastructure.new_database("kernel"),
                           amqp_url=infrastructure.new_vhost("kernel"), environment="test")


@pytest.fixture(scope="session")
def engine(settings):
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def routing_key() -> str:
    """A routing key and queue of the test's own, so tests sharing the vhost never see each other's messages."""
    return f"test.{uuid.uuid4().hex[:8]}.created"


def emit_note(engine, routing_key: str) -> str:
    class _Created(NoteCreated):
        type = routing_key

    with UnitOfWork(engine, source="kernel-test") as uow:
        note = Note(text="hello")
        uow.session.add(note)
        envelope = uow.emit(_Created(note_id=note.id))
        uow.commit()
    return envelope.id
