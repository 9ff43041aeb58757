from dataclasses import replace

from consent import chain


def _links(count: int) -> list[chain.Link]:
    links, previous = [], None
    for n in range(count):
        text = chain.snapshot(schema_name="Policy", object_id="p1", object_data={"n": n}, timestamp=f"2026-01-0{n + 1}")
        link = chain.Link(f"r{n}", "Policy", "p1", text, chain.digest(text), previous.serialized_hash if previous else None,
                          number=n + 1, successor_id=f"r{n + 1}" if n + 1 < count else None)
        links.append(link)
        previous = link
    return links


def test_an_untouched_chain_holds():
    assert chain.first_break(_links(3)) is None


def test_a_changed_snapshot_breaks_the_chain_at_that_revision():
    links = _links(3)
    links[1] = replace(links[1], serialized_snapshot=links[1].serialized_snapshot.replace('"n":1', '"n":9'))

    broken = chain.first_break(links)

    assert (broken.revision_id, broken.position, broken.reason) == ("r1", 1, "the snapshot does not match its hash")


def test_a_rehashed_snapshot_is_caught_by_its_successor():
    links = _links(3)
    forged = links[1].serialized_snapshot.replace('"n":1', '"n":9')
    links[1] = replace(links[1], serialized_snapshot=forged, serialized_hash=chain.digest(forged))

    broken = chain.first_break(links)

    assert (broken.revision_id, broken.reason) == ("r2", "the predecessor hash does not match the previous revision")


def test_a_removed_revision_breaks_the_chain():
    links = _links(3)

    assert chain.first_break([links[0], links[2]]).revision_id == "r2"


def test_a_successor_link_to_another_revision_breaks_the_chain():
    links = _links(3)
    links[0] = replace(links[0], successor_id="elsewhere")

    assert chain.first_break(links) == chain.Break("r1", 1, "the previous revision names another successor")


def test_a_removed_tail_is_caught_when_its_forward_link_was_left():
    links = _links(3)

    assert chain.first_break(links[:2]) == chain.Break("r1", 1, "the latest revision names a successor that is not there")


def test_a_renumbered_revision_breaks_the_chain():
    links = _links(3)
    links[2] = replace(links[2], number=7)

    assert chain.first_break(links).reason == "the revision's number is not its place in the chain"


def test_snapshots_serialize_the_same_way_whatever_the_key_order():
    first = chain.snapshot(schema_name="X", object_id="1", object_data={"a": 1, "b": 2}, timestamp="t")
    second = chain.snapshot(schema_name="X", object_id="1", object_data={"b": 2, "a": 1}, timestamp="t")

    assert first == second
