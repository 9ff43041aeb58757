"""RabbitMQ topology and connections: a topic exchange for events, quorum queues per consumer, a retry and a dead-letter queue."""
import logging
import threading

import pika

QUORUM = {"x-queue-type": "quorum"}


def connect(amqp_url: str, *, heartbeat: int = 30) -> pika.BlockingConnection:
    params = pika.URLParameters(amqp_url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


def declare_exchange(channel, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


def retry_queue(queue: str) -> str:
    return f"{queue}.retry"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


def declare_consumer_queues(channel, *, exchange: str, queue: str, bindings: list[str], retry_delay_ms: int) -> None:
    """The work queue bound to its routing keys; a retry queue that hands messages back after a delay; a DLQ."""
    declare_exchange(channel, exchange)
    channel.queue_declare(queue=queue, durable=True, arguments=QUORUM)
    for key in bindings:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=key)
    channel.queue_declare(
        queue=retry_queue(queue),
        durable=True,
        arguments={
            **QUORUM,
            "x-message-ttl": retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
            # Quorum queues dead-letter at most once by default; a retry must not vanish on a broker failover.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )
    # Last, after the bindings: its existence tells a relay that this consumer's events are routed (consumer_declared).
    channel.queue_declare(queue=dead_letter_queue(queue), durable=True, arguments=QUORUM)


class _Probing(logging.Filter):
    """pika logs the broker's 404 for a queue that does not exist yet as a warning; asking is not a fault."""

    active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.active, "on", False)


_probing = _Probing()
logging.getLogger("pika.channel").addFilter(_probing)


def consumer_declared(connection: pika.BlockingConnection, queue: str) -> bool:
    """Whether a consumer's queues and bindings exist: its dead-letter queue is declared after them."""
    channel = connection.channel()
    _probing.active.on = True  # a blocking channel handles the broker's reply in this thread
    try:
        channel.queue_declare(queue=dead_letter_queue(queue), passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return False
        raise
    finally:
        _probing.active.on = False
    channel.close()
    return True


def matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: '*' is one word, '#' zero or more."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
