"""PIN/password checks with argon2 and a lockout after repeated failures."""
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from identity.models import utcnow

_hasher = PasswordHasher()
# Verifying against this when there is no account keeps the answer time the same (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("no-such-account")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


@dataclass
class Outcome:
    ok: bool
    locked: bool = False


def check(holder, secret: str, *, hash_attr: str, max_failures: int, lockout_seconds: int) -> Outcome:
    """Verify `secret` against holder's hash, counting failures on holder; the caller commits holder either way."""
    if holder is None:
        _verify(_DUMMY_HASH, secret)
        return Outcome(ok=False)
    now = utcnow()
    if holder.locked_until is not None and holder.locked_until > now:
        return Outcome(ok=False, locked=True)
    if _verify(getattr(holder, hash_attr), secret):
        holder.failed_attempts = 0
        holder.locked_until = None
        return Outcome(ok=True)
    holder.failed_attempts += 1
    if holder.failed_attempts >= max_failures:
        holder.failed_attempts = 0
        holder.locked_until = now + timedelta(seconds=lockout_seconds)
        return Outcome(ok=False, locked=True)
    return Outcome(ok=False)


def matches(hashed: str | None, secret: str) -> bool:
    """Verify without a lockout counter (API keys); an unknown holder is checked against a dummy hash, for even timing."""
    if hashed is None:
        _verify(_DUMMY_HASH, secret)
        return False
    return _verify(hashed, secret)


def _verify(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False
