"""Encryption at rest (Fernet) and the keyed content hash, both derived from settings.messaging_secret."""
import base64
import hashlib
import hmac
import json
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret, b"messaging/at-rest")))


def encrypt(secret: str, value) -> str:
    """Any JSON-serialisable value -> a Fernet token."""
    return _fernet(secret).encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()


def decrypt(secret: str, token: str):
    return json.loads(_fernet(secret).decrypt(token.encode()))


def content_hash(secret: str, value) -> str:
    """A keyed hash of a request, so stored hashes of short messages cannot be brute-forced back to content."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hmac.new(_derive(secret, b"messaging/content-hash"), canonical, hashlib.sha256).hexdigest()
