"""Events the consent service emits (facts, past tense; ids only, never personal data)."""
from typing import ClassVar

from kernel.events import Event


class RecordGiven(Event):
    """A consent record became valid consent: opted in and signed."""

    type: ClassVar[str] = "consent.record.given"
    consent_record_id: str
    data_agreement_id: str
    individual_id: str

    def subject(self) -> str:
        return self.consent_record_id


class RecordWithdrawn(Event):
    """An opted-in consent record was opted out (or forgotten)."""

    type: ClassVar[str] = "consent.record.withdrawn"
    consent_record_id: str
    data_agreement_id: str
    individual_id: str

    def subject(self) -> str:
        return self.consent_record_id
