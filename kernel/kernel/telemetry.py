"""Tracing and logging: W3C trace context over HTTP and AMQP, OTLP export when configured, JSON logs without personal data."""
import json
import logging
import re
import sys
from datetime import datetime, timezone

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

tracer = trace.get_tracer("kernel")

_configured = False


def setup_tracing(service_name: str, otlp_endpoint: str = "") -> None:
    """Install one tracer provider per process (the first caller names the process's service)."""
    global _configured
    if _configured:
        return
    _configured = True
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # a test or an embedding process installed its own
    # With nowhere to export, record nothing: spans keep real ids, so trace context still propagates and logs still
    # carry trace ids, but the work of recording them (a quarter of the gateway's CPU per call) is skipped.
    sampler = ParentBased(ALWAYS_ON) if otlp_endpoint else ALWAYS_OFF
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=sampler)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")))
    trace.set_tracer_provider(provider)


def instrument_fastapi(app) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    # Health probes would drown real traces.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/live,health/ready,metrics")
    if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
        HTTPXClientInstrumentor().instrument()


def spans_recorded() -> bool:
    """Whether a span started now could be recorded: False with no SDK provider, or setup_tracing's with no exporter
    (ALWAYS_OFF). Hot loops (the relay, the consumer) then skip making spans and pass the trace context on as it is."""
    provider = trace.get_tracer_provider()
    return isinstance(provider, TracerProvider) and provider.sampler is not ALWAYS_OFF


def current_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(headers: dict | None):
    return propagate.extract({k: v for k, v in (headers or {}).items() if isinstance(v, str)})


def attach_context(headers: dict | None):
    """Make the trace context in headers current; returns a token for detach_context."""
    return otel_context.attach(context_from_headers(headers))


def detach_context(token) -> None:
    otel_context.detach(token)


# Personal data must never reach logs: mask anything shaped like an e-mail address, a phone number or an ID number,
# but not timestamps or UUIDs (the lookarounds keep digits inside a longer token, like a UUID's last group, alone).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = re.compile(
    r"(?<![\w-])(?:"
    r"\+\d[\d \-]{6,}\d"  # international phone number, separators allowed: +856 20 5555 1234
    r"|0\d{1,2}[ -]?\d{3,4}[ -]?\d{4}"  # national phone number: 020 5555 1234
    r"|\d{7,}"  # ID numbers and other long digit runs: UIN, VID, account numbers
    r")(?![\w-])"
)
_PERSONAL_KEYS = {"name", "given_name", "family_name", "phone", "phone_number", "email", "uin", "individual_id", "address", "birthdate", "password", "pin", "otp"}


def redact(text: str) -> str:
    return _LONG_NUMBER.sub("[redacted]", _EMAIL.sub("[redacted]", text))


class JsonFormatter(logging.Formatter):
    def __init__(self, service_name: str):
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        span_context = trace.get_current_span().get_span_context()
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "service": self.service_name,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = "[redacted]" if key in _PERSONAL_KEYS else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(service_name: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service_name) if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pika", "httpx", "httpcore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's access log prints full URLs, whose query strings can hold personal data.
    logging.getLogger("uvicorn.access").disabled = True
