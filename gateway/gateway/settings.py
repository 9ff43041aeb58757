"""Settings of the gateway service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    port: int = 8000
