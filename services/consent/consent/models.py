"""Tables of the consent service."""
from kernel.outbox import service_base

Base = service_base()
