"""Settings of the consent service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    service_name: str = "consent"
    port: int = 8003
