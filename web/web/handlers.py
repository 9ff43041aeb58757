"""Reactions to events from RabbitMQ: the portal reacts to none."""
from kernel.consumer import Handler

HANDLERS: dict[str, Handler] = {}
