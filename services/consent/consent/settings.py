"""Settings of the consent service (environment variables; see the README's table)."""
from pathlib import Path

from kernel.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    service_name: str = "consent"
    port: int = 8003
    # The private JWK the service signs consent with on a citizen's behalf; created on first use if missing.
    signing_key_file: Path | None = None

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.data_dir / "consent-signing-key.json"
