from kernel.migrations import run
from registration.models import Base

run(Base.metadata)
