"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour."""
from kernel.app import FixtureLoader
from identity import persons
from identity.models import Person, PersonRevision

# The person the GovStack harness authenticates (NOTES §6): PIN "password"; the wrong PIN "9999" must fail.
CONFORMANCE_PERSON_ID = "05a5eecd-8b70-480d-9662-b2e63e4bafdb"
CONFORMANCE_UIN = "2759183642"  # fixed test number with a valid Verhoeff check digit, so it can be typed into the login page
CONFORMANCE_ATTRIBUTES = {"name": {"lo": "ຜູ້ທົດສອບ ຄວາມສອດຄ່ອງ", "en": "Conformance Tester"}, "gender": "F",
                          "birthdate": "1990-01-01", "email": "conformance@example.la", "phone_number": "+856200000000"}


def load_conformance(uow, settings) -> None:
    session = uow.session
    if session.get(Person, CONFORMANCE_PERSON_ID) is None:
        session.add(Person(id=CONFORMANCE_PERSON_ID, uin=CONFORMANCE_UIN, attributes=CONFORMANCE_ATTRIBUTES))
        session.add(PersonRevision(person_id=CONFORMANCE_PERSON_ID, version=1, attributes=CONFORMANCE_ATTRIBUTES))
        session.flush()
    persons.set_pin(session, person_id=CONFORMANCE_PERSON_ID, pin="password")


FIXTURES: dict[str, FixtureLoader] = {"conformance": load_conformance}
