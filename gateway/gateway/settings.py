"""Settings of the gateway service (environment variables; see the README's table)."""
import hashlib
from pathlib import Path
from typing import Annotated

from pydantic import model_validator
from pydantic_settings import NoDecode
from sqlalchemy.engine import make_url

from kernel.settings import ServiceSettings

DEVELOPMENT_KEY_SECRET = "development-only-message-log-key-secret"


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    port: int = 8000
    # Client-credentials tokens issued for the gateway, the portal's citizen tokens (issued for its OIDC client), and
    # building blocks' tokens for the building block they call (e.g. registration's for consent). The gateway only proves
    # the caller: the token's client must be the named application; the provider it is forwarded to checks its own audience.
    oidc_audience: Annotated[list[str], NoDecode] = ["gateway", "govstack-portal", "identity", "registration", "consent", "messaging"]
    instance: str = "LA"  # X-Road instance id of this exchange (Lao PDR)
    # Where the four building blocks answer; they seed the default service directory.
    identity_url: str = "http://localhost:8001"
    registration_url: str = "http://localhost:8002"
    consent_url: str = "http://localhost:8003"
    messaging_url: str = "http://localhost:8004"
    upstream_timeout_seconds: float = 30.0  # headers and a small (whole-read) body in all; also the longest silence in a stream
    # A streamed (large) response in all: long, since a citizen on a slow link downloading a document holds the stream open;
    # a provider that stops sending is still cut after UPSTREAM_TIMEOUT_SECONDS of silence.
    upstream_stream_timeout_seconds: float = 900.0
    upstream_connect_timeout_seconds: float = 5.0
    max_body_bytes: int = 20 * 1024 * 1024

    directory_cache_seconds: float = 5.0  # other processes' directory changes are seen within this time
    token_cache_seconds: float = 60.0  # a verified caller token is trusted this long (never past its expiry)
    # The caller's bearer token proves the calling application to the gateway, and the end user to the provider: every
    # BB authenticates its own protected operations, so stripping the token would leave them unusable through here.
    forward_bearer_token: bool = True

    log_payloads: bool = False  # message log: bodies are stored only when this is on
    message_log_batch_size: int = 500
    # After a write, wait this long so the next batch gathers more exchanges: each batch costs a transaction, a chain-head
    # read and a signature, about as much CPU as 30 rows (measured, benchmarks/bench_gateway.py). Nothing waits for it: an
    # exchange is in the journal before its response goes out, and the first exchange after a quiet spell is written at once.
    message_log_linger_seconds: float = 1.0
    # Where each process journals exchanges before answering (fsync'd; replayed after a crash); empty: DATA_DIR/gateway-journal.
    message_log_journal_dir: str = ""
    # 0: the journal is synced to disk (fdatasync) before a response goes out. More: it is written before the response
    # (a killed process loses nothing) but synced this often, so an OS crash or power cut could lose that much; saves
    # the sync's latency on every call where a slow disk makes that too dear.
    message_log_sync_seconds: float = 0.0
    # Seals the message log's signing key at rest and is needed to verify the log: someone who can write the database
    # but lacks this secret can neither re-sign an altered chain nor plant a signing key of their own.
    message_log_key_secret: str = DEVELOPMENT_KEY_SECRET

    consent_cache_seconds: float = 30.0
    consent_timeout_seconds: float = 5.0
    consent_poll_seconds: float = 1.0  # how often withdrawals seen by the consumer are applied to the cache
    individual_header: str = "X-Individual-Id"
    # The gateway's own service account at the Identity BB (private_key_jwt), for the consent check; empty: no token sent.
    service_token_url: str = ""
    service_client_id: str = ""
    service_private_jwk: str = ""  # the private JWK as JSON

    # Mutual TLS: with a server certificate the API serves HTTPS; with a client CA too, a caller may prove its application
    # by a certificate of that CA bound to it in the directory (fingerprint or subject) instead of a bearer token.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    tls_client_cert_required: bool = False  # refuse TLS connections without a client certificate

    push_max_attempts: int = 6  # then the delivery is dropped
    push_backoff_seconds: float = 2.0  # wait before the 2nd attempt; doubled for each one after
    push_timeout_seconds: float = 10.0
    # Subscribers choose their pushUrl and the gateway posts to it, so a pushUrl host on a loopback, private, link-local,
    # multicast or unspecified address could aim the gateway at services inside (SSRF). Empty (None): such hosts are
    # allowed outside production only, as local runs and tests push to 127.0.0.1. Set it true in production only where
    # subscribers sit on a private network the gateway shares.
    push_allow_private: bool | None = None

    @model_validator(mode="after")
    def _no_development_secret_in_production(self):
        if self.environment == "production" and self.message_log_key_secret == DEVELOPMENT_KEY_SECRET:
            raise ValueError("MESSAGE_LOG_KEY_SECRET must be set to a real secret in production")
        return self

    @property
    def push_private_allowed(self) -> bool:
        return self.environment != "production" if self.push_allow_private is None else self.push_allow_private

    @property
    def journal_dir(self) -> Path:
        base = Path(self.message_log_journal_dir) if self.message_log_journal_dir else self.data_dir / "gateway-journal"
        # One folder per database (named by a hash of its URL without the password): a journal left by a dead process
        # is replayed only into the database its exchanges belong to, even when several gateways share DATA_DIR.
        url = make_url(self.sqlalchemy_url)
        database = f"{url.drivername}://{url.username or ''}@{url.host or ''}:{url.port or ''}/{url.database or ''}"
        return base / hashlib.sha256(database.encode()).hexdigest()[:16]
