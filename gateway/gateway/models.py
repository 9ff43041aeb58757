"""Tables of the gateway service."""
from kernel.outbox import service_base

Base = service_base()
