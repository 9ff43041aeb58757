"""The journal file itself: records written over a zero-filled file at a running offset, each ended by a NUL."""
import json

from gateway import journal


def test_records_read_back_in_order_across_syncs_truncation_and_growth(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "INITIAL_BYTES", 4096)  # small, so it must grow
    writer = journal.Journal(tmp_path)
    first = [{"n": i, "text": "ທົດສອບ\x00\n" + "x" * 200} for i in range(3)]  # a NUL and a line break inside a value
    writer.append(journal.encode(first))
    assert journal.read(writer.path) == first
    assert writer.path.stat().st_size == 4096  # the size set when made, not one record's worth: syncs commit no size change

    writer.truncate()  # everything stored: what was written before is never read again
    assert journal.read(writer.path) == []
    second = [{"n": "after"}]
    writer.append(journal.encode(second), sync=False)
    writer.sync()
    assert journal.read(writer.path) == second  # the longer first round, still on disk past it, is not read

    many = [{"n": i, "pad": "y" * 500} for i in range(40)]  # past 4096 bytes: the file doubles as often as needed
    for record in many:
        writer.append(journal.encode([record]))
    assert journal.read(writer.path) == second + many
    assert writer.path.stat().st_size >= len(journal.encode(second + many)) and writer.path.stat().st_size % 4096 == 0
    writer.close(remove=True)
    assert not writer.path.exists()


def test_a_torn_last_record_is_left_out(tmp_path):
    writer = journal.Journal(tmp_path)
    writer.append(journal.encode([{"n": 1}]))
    # A crash mid-write (OS crash, power loss): part of the next record reached the disk, its NUL did not.
    torn = json.dumps({"n": 2}).encode()[:5]
    with open(writer.path, "r+b") as file:
        file.seek(writer.offset)
        file.write(torn)
    assert journal.read(writer.path) == [{"n": 1}]
    writer.close(remove=True)
