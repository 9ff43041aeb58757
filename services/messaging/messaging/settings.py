"""Settings of the messaging service (environment variables; see the README's table)."""
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import NoDecode

from kernel.settings import ServiceSettings, _split_csv

_DEVELOPMENT_SECRET = "development-only-messaging-secret"


class MessagingSettings(ServiceSettings):
    service_name: str = "messaging"
    port: int = 8004

    # Encryption at rest and the keyed content hash both derive from this; set a long random value in production.
    messaging_secret: str = _DEVELOPMENT_SECRET
    retention_days: int = 30
    duplicate_window_seconds: int = 600  # same content from the same caller within this window is one request
    max_batch_recipients: int = 1000
    max_body_bytes: int = 1_000_000
    max_content_chars: int = 100_000
    sms_allowed_regions: Annotated[list[str], NoDecode] = ["LA"]

    # Delivery worker: retries with exponential backoff until the retry window ends, then the message failed.
    retry_base_seconds: float = 30.0
    retry_max_interval_seconds: float = 3600.0
    retry_window_seconds: float = 24 * 3600.0
    scheduler_poll_seconds: float = 1.0
    requeue_stuck_after_seconds: float = 900.0  # a queued message untouched this long has its delivery requested again
    worker_idle_seconds: float = 0.05
    worker_prefetch: int = 20  # unacked delivery requests a worker holds per lane

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "no-reply@messaging.gov.la"  # envelope and From address; callers' addresses go in Reply-To
    mail_domain: str = "messaging.gov.la"  # right-hand side of the Message-ID we set

    sms_gateway_url: str = ""  # the HTTP SMS gateway that accepts POSTed messages
    sms_gateway_token: str = ""
    sms_sender_id: str = "GOV.LA"
    # Set: the gateway's delivery reports (POST /callback/sms/delivery-report with this bearer token) settle each SMS,
    # which stays "processing" until then. Empty: an SMS accepted by the gateway counts as delivered.
    sms_delivery_report_token: str = ""
    callback_timeout_seconds: float = 10.0
    # Callback URIs come from callers and are POSTed to by the consumer: in production list the allowed prefixes
    # (e.g. https://registration.gov.la/) so a caller cannot aim us at internal services. Empty: any http(s) URL.
    callback_url_prefixes: Annotated[list[str], NoDecode] = []

    _split_lists = field_validator("sms_allowed_regions", "callback_url_prefixes", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _no_development_secret_in_production(self):
        if self.environment == "production" and self.messaging_secret == _DEVELOPMENT_SECRET:
            raise ValueError("MESSAGING_SECRET must be set in production")
        return self
