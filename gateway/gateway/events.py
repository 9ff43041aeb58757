"""Events the gateway service emits (facts, past tense; ids only, never personal data)."""
from kernel.events import Event


class PushRequested(Event):
    """A pub/sub event is due to be pushed to one subscription (the consumer does the push)."""

    type = "gateway.pubsub.push.requested"
    delivery_id: str

    def subject(self) -> str | None:
        return self.delivery_id
