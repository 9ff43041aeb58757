"""Tables of the identity service."""
from kernel.outbox import service_base

Base = service_base()
