"""Settings of the gateway service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    port: int = 8000
    instance: str = "LA"  # X-Road instance id of this exchange (Lao PDR)
    # Where the four building blocks answer; they seed the default service directory.
    identity_url: str = "http://localhost:8001"
    registration_url: str = "http://localhost:8002"
    consent_url: str = "http://localhost:8003"
    messaging_url: str = "http://localhost:8004"
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 5.0
    max_body_bytes: int = 20 * 1024 * 1024

    directory_cache_seconds: float = 5.0  # other processes' directory changes are seen within this time
    token_cache_seconds: float = 60.0  # a verified caller token is trusted this long (never past its expiry)
    # The caller's bearer token proves the calling application to the gateway, and the end user to the provider: every
    # BB authenticates its own protected operations, so stripping the token would leave them unusable through here.
    forward_bearer_token: bool = True

    log_payloads: bool = False  # message log: bodies are stored only when this is on
    message_log_batch_size: int = 500
    message_log_linger_seconds: float = 0.05  # after a write, wait this long so the next batch gathers more exchanges
    chain_sign_interval_seconds: float = 60.0

    consent_cache_seconds: float = 30.0
    consent_timeout_seconds: float = 5.0
    consent_poll_seconds: float = 1.0  # how often withdrawals seen by the consumer are applied to the cache
    individual_header: str = "X-Individual-Id"
    # The gateway's own service account at the Identity BB (private_key_jwt), for the consent check; empty: no token sent.
    service_token_url: str = ""
    service_client_id: str = ""
    service_private_jwk: str = ""  # the private JWK as JSON

    push_max_attempts: int = 6  # then the delivery is dropped
    push_backoff_seconds: float = 2.0  # wait before the 2nd attempt; doubled for each one after
    push_timeout_seconds: float = 10.0
