"""Settings of the registration service (environment variables; see the README's table)."""
from kernel.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    port: int = 8002
