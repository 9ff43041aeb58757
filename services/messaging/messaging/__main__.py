"""python -m messaging api|relay|consumer|migrate|reset|purge (the consumer process also runs the delivery worker)."""
import logging
import sys
import time

import pika

from kernel.cli import main
from kernel.db import make_engine, migrate
from messaging.delivery import ensure_topology, run_worker
from messaging.handlers import HANDLERS
from messaging.retention import purge_expired
from messaging.settings import MessagingSettings

log = logging.getLogger("messaging")


def _declare_lanes_before_relaying(settings: MessagingSettings) -> None:
    """The relay publishes delivery requests; their queues must exist first or the broker drops them as unroutable."""
    delay = 0.5
    while True:
        try:
            ensure_topology(settings)
            return
        except (pika.exceptions.AMQPError, OSError):
            log.warning("broker unavailable; delivery queues not declared yet, retrying in %.1fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 10)


def _purge(settings: MessagingSettings) -> str:
    engine = make_engine(settings)
    migrate(engine, "messaging.migrations")
    return f"purged {purge_expired(engine, settings=settings)} request(s)"


if sys.argv[1:2] == ["relay"]:
    _declare_lanes_before_relaying(MessagingSettings())
main(settings_cls=MessagingSettings, app_factory="messaging.app:create_app", migrations_package="messaging.migrations",
     handlers=HANDLERS, background=[run_worker], commands={"purge": _purge})
