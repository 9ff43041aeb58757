"""UnitOfWork.emit_all: many events in one statement, published like emit()'s, in the order they were emitted."""
from kernel import bus
from kernel.db import UnitOfWork
from kernel.events import Envelope
from kernel.relay import Publisher, relay_batch

from .conftest import Note, NoteCreated
from .test_event_bus import declare


def drain(settings, queue: str) -> list[Envelope]:
    connection = bus.connect(settings.amqp_url)
    try:
        channel, envelopes = connection.channel(), []
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return envelopes
            envelopes.append(Envelope.from_bytes(body))
    finally:
        connection.close()


def test_events_emitted_together_are_published_after_earlier_ones_in_order(engine, settings, routing_key):
    class Created(NoteCreated):
        type = routing_key

    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    with UnitOfWork(engine, source="kernel-test") as uow:
        notes = [Note(text=f"note {i}") for i in range(4)]
        uow.session.add_all(notes)
        first = uow.emit(Created(note_id=notes[0].id))
        uow.emit_all([Created(note_id=note.id) for note in notes[1:]])
        uow.commit()

    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    try:
        while relay_batch(engine, publisher):
            pass
    finally:
        publisher.close()

    received = drain(settings, queue)
    assert [envelope.data["note_id"] for envelope in received] == [note.id for note in notes]
    assert received[0].id == first.id
    assert len({envelope.id for envelope in received}) == 4
    assert all(envelope.source == "kernel-test" and envelope.type == routing_key for envelope in received)


def test_events_emitted_together_are_not_stored_without_a_commit(engine, settings, routing_key):
    class Created(NoteCreated):
        type = routing_key

    queue = f"q.{routing_key}"
    declare(settings, queue, routing_key)
    with UnitOfWork(engine, source="kernel-test") as uow:
        uow.emit_all([Created(note_id="never") for _ in range(3)])  # rolled back on close

    publisher = Publisher(settings.amqp_url, settings.events_exchange)
    try:
        while relay_batch(engine, publisher):
            pass
    finally:
        publisher.close()

    assert drain(settings, queue) == []
