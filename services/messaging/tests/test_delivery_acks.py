"""The worker acks a committed batch with one multiple-ack only when that cannot ack a delivery still waiting in a buffer."""
from messaging.delivery import DeliveryWorker


class RecordingChannel:
    def __init__(self):
        self.acks: list[tuple[int, bool]] = []

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acks.append((delivery_tag, multiple))


def worker_holding(*tags: int) -> DeliveryWorker:
    worker = DeliveryWorker.__new__(DeliveryWorker)  # no engine or broker needed to decide how to ack
    worker.unacked = set(tags)
    return worker


def test_a_batch_of_the_oldest_deliveries_is_acked_at_once():
    worker, channel = worker_holding(*range(1, 11)), RecordingChannel()

    worker._ack(channel, [1, 2, 3])

    assert channel.acks == [(3, True)]
    assert worker.unacked == set(range(4, 11))


def test_a_batch_that_skips_a_waiting_delivery_is_acked_one_by_one():
    # Emergencies (tags 7, 8) are served before the routine delivery 6 that arrived earlier and still waits.
    worker, channel = worker_holding(6, 7, 8, 9), RecordingChannel()

    worker._ack(channel, [7, 8])

    assert channel.acks == [(7, False), (8, False)]
    assert worker.unacked == {6, 9}


def test_after_the_waiting_delivery_is_handled_the_multiple_ack_is_safe_again():
    worker, channel = worker_holding(6, 9, 10), RecordingChannel()

    worker._ack(channel, [6, 9])

    assert channel.acks == [(9, True)]
    assert worker.unacked == {10}
