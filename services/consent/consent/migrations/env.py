from kernel.migrations import run
from consent.models import Base

run(Base.metadata)
