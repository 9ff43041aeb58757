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


class SendOtp(Event):
    """Command to the Messaging BB: deliver a login code. It carries the code and the recipient, so identity deletes its
    outbox row shortly after the relay has sent it (maintenance.purge)."""

    type: ClassVar[str] = "identity.otp.requested"
    transaction_id: str
    channel: str  # "sms" | "email"
    recipient: str  # E.164 number or e-mail address
    otp: str
    language: str  # "lo" | "en"
    expires_seconds: int

    def subject(self) -> str:
        return self.transaction_id
