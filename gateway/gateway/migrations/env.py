from kernel.migrations import run
from gateway.models import Base

run(Base.metadata)
