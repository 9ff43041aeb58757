from kernel.migrations import run
from identity.models import Base

run(Base.metadata)
