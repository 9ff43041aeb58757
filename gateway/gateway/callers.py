"""Who is calling through the gateway: the named client application, proven by a bearer token bound to it."""
import re
import time

from kernel.auth import Caller, TokenVerifier

CLIENT_HEADERS = ("information-mediator-client", "x-road-client", "x-govstack-client")
_PART = r"([A-Za-z0-9_:.\-]+)"
_CLIENT = re.compile(rf"{_PART}/{_PART}/{_PART}/{_PART}")


def client_from_headers(headers) -> tuple[str, str, str, str] | None:
    """INSTANCE/CLASS/MEMBER/APPLICATION from the first client header present, or None when absent or malformed.
    headers: any mapping of lower-case names (Starlette's Headers, or a dict)."""
    for name in CLIENT_HEADERS:
        value = headers.get(name)
        if value is not None:
            match = _CLIENT.fullmatch(value.strip())
            return match.groups() if match else None
    return None


class CachedVerifier:
    """Signature checks are the costliest step of a forwarded call; a verified token is reused until shortly before expiry."""

    def __init__(self, verifier: TokenVerifier, max_age: float, max_entries: int = 10_000):
        self.verifier, self.max_age, self.max_entries = verifier, max_age, max_entries
        self.cache: dict[str, tuple[Caller, float]] = {}

    def cached(self, token: str) -> Caller | None:
        entry = self.cache.get(token)
        return entry[0] if entry is not None and entry[1] > time.time() else None

    def verify(self, token: str) -> Caller:
        now = time.time()
        caller = self.verifier.verify(token)
        if len(self.cache) >= self.max_entries:
            self.cache.clear()
        expires = min(float(caller.claims.get("exp", now)), now + self.max_age)
        self.cache[token] = (caller, expires)
        return caller
