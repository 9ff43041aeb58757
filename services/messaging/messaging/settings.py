"""Settings of the messaging service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    service_name: str = "messaging"
    port: int = 8004
