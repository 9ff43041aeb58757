"""Tables of the registration service."""
from kernel.outbox import service_base

Base = service_base()
