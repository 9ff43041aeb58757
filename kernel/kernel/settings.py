"""Settings read from environment variables; each service subclasses ServiceSettings with its own defaults."""
from pathlib import Path
from typing import Annotated, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value):
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    api_workers: int = 1  # uvicorn worker processes for the API; one per core serves CPU-bound load best
    public_url: str = ""  # how browsers and other services reach this one; defaults to http://host:port
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: a SQLite file per service under data_dir
    amqp_url: str = "amqp://guest:guest@localhost:5672/"
    events_exchange: str = "govstack.events"
    gateway_url: str = "http://localhost:8000"

    oidc_issuers: Annotated[list[str], NoDecode] = ["http://localhost:8001"]
    oidc_audience: Annotated[list[str], NoDecode] = []  # empty: the service name
    oidc_jwks_cache_seconds: int = 300

    consumer_max_retries: int = 5
    consumer_retry_delay_ms: int = 2000
    consumer_prefetch: int = 200  # also the most messages the consumer applies in one transaction
    relay_poll_seconds: float = 0.1  # SQLite, or PostgreSQL while the relay cannot LISTEN for new events
    relay_idle_seconds: float = 1.0  # PostgreSQL: the longest an idle relay waits for a notification before it looks
    relay_batch_size: int = 500
    # The consumers (queue names, comma-separated) whose queues must exist before a relay publishes: the suite's
    # consumers of events, so that none is published on a fresh broker before its queue is bound. Empty: none.
    relay_await_queues: Annotated[list[str], NoDecode] = []

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    otel_exporter_otlp_endpoint: str = ""
    fixtures: str = ""  # "", "conformance" or "demo": data only, never behaviour

    _split = field_validator("oidc_issuers", "oidc_audience", "relay_await_queues", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _fill_defaults(self):
        if not self.public_url:
            self.public_url = f"http://{self.host if self.host not in ('0.0.0.0', '::') else 'localhost'}:{self.port}"
        if not self.oidc_audience:
            self.oidc_audience = [self.service_name]
        return self

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.data_dir / (self.service_name + '.db')}"
        # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    @property
    def is_postgres(self) -> bool:
        return self.sqlalchemy_url.startswith("postgresql")
