"""Settings of the consent service (environment variables; see the README's table)."""
from pathlib import Path

from kernel.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    service_name: str = "consent"
    port: int = 8003
    # The private JWK the service signs consent with on a citizen's behalf; created on first use if missing.
    signing_key_file: Path | None = None
    # Connections per API worker for the verification fast path (autocommit, see read_engine.py).
    read_pool_size: int = 10
    # Webhook pushes: the n-th retry waits base * 2^(n-1) seconds, at most max; after give_up_after, no more tries.
    webhook_retry_base_seconds: float = 5.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_give_up_after_seconds: float = 3 * 24 * 3600.0
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.data_dir / "consent-signing-key.json"
