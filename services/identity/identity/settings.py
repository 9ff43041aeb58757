"""Settings of the identity service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    port: int = 8001
