"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour."""
from sqlmodel import select

from kernel.app import FixtureLoader
from messaging import apikeys
from messaging.models import ApiKey

# The keys the GovStack suite sends (see docs/conformance/messaging.md); known publicly, so never load them in production.
CONFORMANCE_KEYS = {"abcdef12345": "GovStack conformance (main)", "xyz0987": "GovStack conformance (batch)",
                    "xyz12345": "GovStack conformance (wrong-method cases)"}
DEMO_KEYS = {"demo-registration-key-change-me": "Demo: Registration BB"}


def _upsert_keys(uow, keys: dict[str, str]) -> None:
    for key, name in keys.items():
        key_hash = apikeys.hash_key(key)
        if uow.session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first() is None:
            uow.session.add(ApiKey(name=name, key_hash=key_hash, created_by="fixtures"))


def load_conformance(uow, settings) -> None:
    if settings.environment == "production":
        raise RuntimeError("the conformance api keys are public; they are never loaded in production")
    _upsert_keys(uow, CONFORMANCE_KEYS)


def load_demo(uow, settings) -> None:
    if settings.environment == "production":
        raise RuntimeError("the demo api key is public; it is never loaded in production")
    _upsert_keys(uow, DEMO_KEYS)


FIXTURES: dict[str, FixtureLoader] = {"conformance": load_conformance, "demo": load_demo}
