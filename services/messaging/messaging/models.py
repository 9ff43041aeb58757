"""Tables of the messaging service."""
from kernel.outbox import service_base

Base = service_base()
