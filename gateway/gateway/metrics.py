"""Prometheus metrics of forwarded exchanges, one registry per app so tests can run several gateways."""
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


@dataclass
class ExchangeMetrics:
    registry: CollectorRegistry
    requests: Counter
    duration: Histogram
    request_bytes: Histogram
    response_bytes: Histogram

    @classmethod
    def create(cls) -> "ExchangeMetrics":
        registry = CollectorRegistry()
        labels = ("client", "service", "status")
        return cls(
            registry=registry,
            requests=Counter("gateway_requests", "Exchanges through the gateway", labels, registry=registry),
            duration=Histogram("gateway_request_duration_seconds", "Time from request to the end of the response", labels, registry=registry),
            request_bytes=Histogram("gateway_request_size_bytes", "Request body sizes", labels, buckets=_SIZES, registry=registry),
            response_bytes=Histogram("gateway_response_size_bytes", "Response body sizes", labels, buckets=_SIZES, registry=registry),
        )

    children: dict = field(default_factory=dict)

    def observe(self, *, client: str, service: str, status: int, seconds: float, request_size: int, response_size: int) -> None:
        key = (client, service, status)
        series = self.children.get(key)
        if series is None:  # label lookups cost a lock each; keep the four series of a (client, service, status)
            labels = (client, service, str(status))
            series = self.children[key] = (self.requests.labels(*labels), self.duration.labels(*labels),
                                           self.request_bytes.labels(*labels), self.response_bytes.labels(*labels))
        series[0].inc()
        series[1].observe(seconds)
        series[2].observe(request_size)
        series[3].observe(response_size)
