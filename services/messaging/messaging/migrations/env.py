from kernel.migrations import run
from messaging.models import Base

run(Base.metadata)
