"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: the portal keeps no data of its own beyond sessions."""
from kernel.app import FixtureLoader

FIXTURES: dict[str, FixtureLoader] = {}
