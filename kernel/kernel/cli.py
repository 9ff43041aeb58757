"""`python -m <service> api|relay|consumer|migrate|reset`: the processes every service runs, started the same way."""
import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

import uvicorn
from sqlalchemy import MetaData

from kernel import consumer, relay
from kernel.db import make_engine, migrate
from kernel.settings import ServiceSettings
from kernel.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def main(*, settings_cls: type[ServiceSettings], app_factory: str, migrations_package: str,
         handlers: dict[str, Callable] | None = None, argv: list[str] | None = None,
         background: Sequence[Callable] = (), server_options: Callable[[ServiceSettings], dict] | None = None,
         commands: dict[str, Callable[[ServiceSettings], str]] | None = None) -> None:
    """`background`: loops `fn(settings, engine, stop)` run in threads of the consumer process (e.g. a delivery worker).
    `server_options(settings)`: more uvicorn settings for the API (e.g. the gateway's TLS).
    `commands`: the service's own one-off commands (name -> fn(settings) returning what to print), listed in --help."""
    commands = commands or {}
    parser = argparse.ArgumentParser(prog=f"python -m {app_factory.split('.', 1)[0]}")
    parser.add_argument("command", choices=["api", "relay", "consumer", "migrate", "reset", *commands])
    args = parser.parse_args(argv)
    settings = settings_cls()
    setup_logging(settings.service_name, settings.log_level, settings.log_format)
    setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    if args.command in commands:
        print(commands[args.command](settings))
        sys.exit(0)

    if args.command == "api":
        uvicorn.run(app_factory, factory=True, host=settings.host, port=settings.port, workers=settings.api_workers,
                    log_config=None, access_log=False, **(server_options(settings) if server_options else {}))
        return
    engine = make_engine(settings)
    if args.command == "migrate":
        migrate(engine, migrations_package)
    elif args.command == "reset":
        _reset(engine)
        migrate(engine, migrations_package)
    elif args.command == "relay":
        migrate(engine, migrations_package)
        relay.run(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange,
                  poll_seconds=settings.relay_poll_seconds, idle_seconds=settings.relay_idle_seconds,
                  batch_size=settings.relay_batch_size, await_queues=settings.relay_await_queues, stop=_stop_on_signals())
    elif args.command == "consumer":
        migrate(engine, migrations_package)
        stop = _stop_on_signals()
        threads = [threading.Thread(target=fn, args=(settings, engine, stop), daemon=True) for fn in background]
        for thread in threads:
            thread.start()
        if not handlers:
            log.info("%s consumes no events; idle", settings.service_name)
            stop.wait()
            for thread in threads:
                thread.join(timeout=30)
            return
        consumer.Consumer(
            engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue=settings.service_name,
            source=settings.service_name, handlers=handlers, max_retries=settings.consumer_max_retries,
            retry_delay_ms=settings.consumer_retry_delay_ms, prefetch=settings.consumer_prefetch,
        ).run(stop)
        for thread in threads:
            thread.join(timeout=30)
    sys.exit(0)


def _reset(engine) -> None:
    """Drop every table of the service's database (fresh state for fixtures)."""
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
