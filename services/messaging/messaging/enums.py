"""Channels, priorities and the delivery state machine, with its mapping onto the spec's six reporting buckets."""
from enum import StrEnum


class Channel(StrEnum):
    email = "email"
    sms = "sms"


class Priority(StrEnum):
    routine = "routine"
    emergency = "emergency"


class MessageStatus(StrEnum):
    queued = "queued"          # accepted, delivery requested
    sending = "sending"        # a worker is handing it to the provider (history only: see models.MessageStatusEvent)
    deferred = "deferred"      # a temporary failure; next_attempt_at says when it is tried again
    sent = "sent"              # the provider accepted it; a delivery report may follow (SMS)
    unconfirmed = "unconfirmed"  # sent, but no delivery report came within SMS_DELIVERY_REPORT_TIMEOUT_SECONDS
    delivered = "delivered"
    bounced = "bounced"        # refused permanently by the provider or the recipient's server
    failed = "failed"          # gave up: the retry window ended


TERMINAL = {MessageStatus.delivered, MessageStatus.bounced, MessageStatus.failed}

# The spec's reporting buckets (spelled three ways across its documents) -> the internal states they count.
BUCKETS: dict[str, set[MessageStatus]] = {
    "scheduled": {MessageStatus.queued},
    "processing": {MessageStatus.sending, MessageStatus.sent},
    "deferred": {MessageStatus.deferred},
    "bounced": {MessageStatus.bounced},
    "notSent": {MessageStatus.failed},
    # Like an email accepted by the recipient's server, an SMS accepted by the carrier with no report counts as delivered.
    "delivered": {MessageStatus.delivered, MessageStatus.unconfirmed},
}
BUCKET_ALIASES = {"not sent": "notSent", "not_sent": "notSent", "notsent": "notSent"}


def bucket_of(name: str) -> str | None:
    """The canonical bucket for a requested status name, or None if it is not one."""
    name = name.strip()
    if name in BUCKETS:
        return name
    return BUCKET_ALIASES.get(name.lower())


def status_bucket(status: MessageStatus) -> str:
    return next(bucket for bucket, states in BUCKETS.items() if status in states)
