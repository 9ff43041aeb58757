"""Events the identity service emits (facts, past tense; ids only, never personal data)."""
from typing import ClassVar

from kernel.events import Event


class PersonEnrolled(Event):
    type: ClassVar[str] = "identity.person.enrolled"
    person_id: str
    enrollment_id: str

    def subject(self) -> str:
        return self.person_id


class PersonUpdated(Event):
    type: ClassVar[str] = "identity.person.updated"
    person_id: str
    enrollment_id: str
    version: int

    def subject(self) -> str:
        return self.person_id
