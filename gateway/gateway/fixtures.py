"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour."""
from kernel.app import FixtureLoader

FIXTURES: dict[str, FixtureLoader] = {}
