"""Reactions to events from RabbitMQ: routing-key pattern -> handler(envelope, uow)."""
from kernel.consumer import Handler

HANDLERS: dict[str, Handler] = {}
