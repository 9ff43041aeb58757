"""Events the messaging service emits (facts, past tense; ids only, never personal data)."""
from typing import ClassVar

from kernel.events import Event


class RoutineMessageAccepted(Event):
    """Delivery requested on the routine lane."""

    type: ClassVar[str] = "messaging.message.accepted.routine"
    message_id: str

    def subject(self) -> str:
        return self.message_id


class EmergencyMessageAccepted(RoutineMessageAccepted):
    """Delivery requested on the emergency lane, which workers empty first."""

    type: ClassVar[str] = "messaging.message.accepted.emergency"


class MessageDelivered(Event):
    type: ClassVar[str] = "messaging.message.delivered"
    message_id: str
    request_id: str


class MessageBounced(MessageDelivered):
    type: ClassVar[str] = "messaging.message.bounced"


class MessageFailed(MessageDelivered):
    type: ClassVar[str] = "messaging.message.failed"


class ReplyReceived(Event):
    type: ClassVar[str] = "messaging.reply.received"
    reply_id: str
    request_id: str


def accepted_event(*, message_id: str, priority: str) -> RoutineMessageAccepted:
    cls = EmergencyMessageAccepted if priority == "emergency" else RoutineMessageAccepted
    return cls(message_id=message_id)
