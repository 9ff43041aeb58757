from kernel.migrations import run
from web.models import Base

run(Base.metadata)
