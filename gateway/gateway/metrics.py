"""Prometheus metrics of forwarded exchanges, one registry per app so tests can run several gateways.

Counted in plain lists on the event loop and turned into metric families only when scraped (a custom collector):
prometheus_client's own Counter and Histogram take a lock per observation, which cost the forwarding path four locks per
call, more than the rest of its bookkeeping together (profiled, benchmarks/bench_gateway.py). The exposition is the same:
gateway_requests_total and three histograms, labelled client, service, status."""
from bisect import bisect_left
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)  # prometheus_client's default
_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
_LABELS = ["client", "service", "status"]


class _Histogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple):
        self.bounds, self.counts, self.sum = bounds, [0] * (len(bounds) + 1), 0.0  # the last count: above every bound

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # "le" buckets: a value on a bound counts in it
        self.sum += value

    def buckets(self) -> list[tuple[str, int]]:
        total, cumulative = 0, []
        for bound, count in zip([*map(_bound, self.bounds), "+Inf"], list(self.counts)):
            total += count
            cumulative.append((bound, total))
        return cumulative


def _bound(value: float) -> str:
    return floatToGoString(value)  # the "le" labels exactly as prometheus_client's own histograms write them


@dataclass(eq=False)  # registered as a collector: hashed by identity
class ExchangeMetrics:
    registry: CollectorRegistry
    series: dict = field(default_factory=dict)  # (client, service, status) -> [count, seconds, request bytes, response bytes]

    @classmethod
    def create(cls) -> "ExchangeMetrics":
        metrics = cls(registry=CollectorRegistry())
        metrics.registry.register(metrics)
        return metrics

    def observe(self, *, client: str, service: str, status: int, seconds: float, request_size: int, response_size: int) -> None:
        key = (client, service, status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [0, _Histogram(_SECONDS), _Histogram(_SIZES), _Histogram(_SIZES)]
        series[0] += 1
        series[1].observe(seconds)
        series[2].observe(request_size)
        series[3].observe(response_size)

    def collect(self):
        """Called by the registry at each scrape (from another thread: the lists are read, never changed, here)."""
        requests = CounterMetricFamily("gateway_requests", "Exchanges through the gateway", labels=_LABELS)
        histograms = [
            HistogramMetricFamily("gateway_request_duration_seconds", "Time from request to the end of the response", labels=_LABELS),
            HistogramMetricFamily("gateway_request_size_bytes", "Request body sizes", labels=_LABELS),
            HistogramMetricFamily("gateway_response_size_bytes", "Response body sizes", labels=_LABELS),
        ]
        for (client, service, status), (count, *observed) in list(self.series.items()):
            labels = [client, service, str(status)]
            requests.add_metric(labels, count)
            for family, histogram in zip(histograms, observed):
                family.add_metric(labels, histogram.buckets(), histogram.sum)
        yield requests
        yield from histograms
