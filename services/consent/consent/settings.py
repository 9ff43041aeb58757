"""Settings of the consent service (environment variables; see the README's table)."""
from pathlib import Path
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import NoDecode

from kernel.settings import ServiceSettings, _split_csv

DEVELOPMENT_AUDIT_KEY_SECRET = "development-only-consent-audit-key-secret"


class ConsentSettings(ServiceSettings):
    service_name: str = "consent"
    port: int = 8003
    # The private JWK the service signs consent with on a citizen's behalf; created on first use if missing.
    signing_key_file: Path | None = None
    # Connections per API worker for the verification fast path (autocommit, see kernel.db.make_autocommit_engine).
    read_pool_size: int = 10
    # The verification fast path's in-process answers and verified tokens (see verification_index.py): how long
    # one may be served at most, should a change notification be lost.
    verification_cache_seconds: float = 60.0
    verified_token_seconds: float = 300.0
    # OIDC clients whose users' tokens act as the citizen (their `sub` is the individual's subject), e.g. the portal.
    citizen_clients: Annotated[list[str], NoDecode] = ["govstack-portal"]
    # The Identity BB, whose wallet-binding certificates and key attestations bind citizens' signing keys
    # (key_binding.py), and whose citizens' tokens alone may register one; empty: the first of OIDC_ISSUERS. Its keys
    # are those it signs tokens with, so it must be one of OIDC_ISSUERS.
    key_binding_issuer: str = ""
    # Webhook pushes: the n-th retry waits base * 2^(n-1) seconds, at most max; after give_up_after, no more tries.
    webhook_retry_base_seconds: float = 5.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_give_up_after_seconds: float = 3 * 24 * 3600.0
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 5.0
    # Seals the key every revision is sealed with (seal.py), and is needed to verify the seals: someone who can write the
    # database but lacks this secret can neither re-seal an altered history nor plant a key of their own.
    audit_key_secret: str = DEVELOPMENT_AUDIT_KEY_SECRET

    _split_citizen_clients = field_validator("citizen_clients", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _key_binding_issuer_is_trusted(self):
        trusted = [issuer.rstrip("/") for issuer in self.oidc_issuers]
        if self.key_binding_issuer and self.key_binding_issuer.rstrip("/") not in trusted:
            raise ValueError("KEY_BINDING_ISSUER must be one of OIDC_ISSUERS")
        return self

    @model_validator(mode="after")
    def _no_development_secret_in_production(self):
        if self.environment == "production" and self.audit_key_secret == DEVELOPMENT_AUDIT_KEY_SECRET:
            raise ValueError("AUDIT_KEY_SECRET must be set to a real secret in production")
        return self

    @property
    def identity_issuer(self) -> str:
        return (self.key_binding_issuer or self.oidc_issuers[0]).rstrip("/")

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.data_dir / "consent-signing-key.json"
