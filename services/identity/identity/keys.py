"""Signing keys: generated on first start, stored Fernet-encrypted, rotated with the previous key still published."""
import base64
import hashlib
import threading
import time
import uuid
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from identity.models import SigningKey, utcnow
from identity.settings import IdentitySettings


def derive_secret(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one configured secret never serves two uses directly."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret.encode())


def _fernet(settings: IdentitySettings) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_secret(settings.key_encryption_secret, "identity signing keys at rest")))


def _self_signed_certificate(private_key: rsa.RSAPrivateKey, issuer: str, not_after: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[:64] or "identity")])
    now = utcnow()
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )


def generate(session: Session, settings: IdentitySettings) -> SigningKey:
    """Create a new signing key (it signs from now on); the caller commits."""
    _active_cache.pop(settings.database_url, None)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expires_at = utcnow() + timedelta(days=settings.signing_key_rotation_days + settings.signing_key_overlap_days)
    certificate = _self_signed_certificate(private_key, settings.issuer, expires_at)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    row = SigningKey(
        kid=uuid.uuid4().hex,
        private_key_encrypted=_fernet(settings).encrypt(pem).decode(),
        certificate=base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
        expires_at=expires_at,
    )
    session.add(row)
    return row


def rotate(session: Session, settings: IdentitySettings) -> SigningKey:
    """Retire the active key (still published until it expires) and start signing with a new one."""
    _active_cache.pop(settings.database_url, None)
    for row in session.exec(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = utcnow()
        session.add(row)
    return generate(session, settings)


def ensure_current(session: Session, settings: IdentitySettings) -> SigningKey:
    """The active key, generating one on first start or when the active one is due for rotation."""
    active = _active(session)
    if active is None:
        active = generate(session, settings)
    elif active.created_at + timedelta(days=settings.signing_key_rotation_days) <= utcnow():
        active = rotate(session, settings)
    return active


def _active(session: Session) -> SigningKey | None:
    return session.exec(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
    ).first()


_private_keys: dict[str, RSAKey] = {}  # kid -> decrypted key; a kid's key never changes
_private_keys_lock = threading.Lock()


def _private_key(row: SigningKey, settings: IdentitySettings) -> RSAKey:
    with _private_keys_lock:
        key = _private_keys.get(row.kid)
        if key is None:
            pem = _fernet(settings).decrypt(row.private_key_encrypted.encode())
            key = RSAKey.import_key(pem, parameters={"kid": row.kid, "use": "sig", "alg": "RS256"})
            _private_keys[row.kid] = key
        return key


_ACTIVE_CACHE_SECONDS = 30.0  # a key rotated by another process is picked up this late; the old one stays published meanwhile
_active_cache: dict[str, tuple[float, SigningKey]] = {}  # database URL -> (read at, active row)


def signing_key(session: Session, settings: IdentitySettings) -> RSAKey:
    """The private key that signs tokens now (looked up at most every 30 s: it is read on every token issued)."""
    cached = _active_cache.get(settings.database_url)
    if cached is None or time.monotonic() - cached[0] > _ACTIVE_CACHE_SECONDS:
        active = _active(session)
        if active is None:
            raise RuntimeError("no signing key: the service did not finish starting")
        session.expunge(active)
        cached = (time.monotonic(), active)
        _active_cache[settings.database_url] = cached
    return _private_key(cached[1], settings)


def published(session: Session) -> list[SigningKey]:
    """Keys in the JWKS: the active one and retired ones that have not expired yet."""
    now = utcnow()
    rows = session.exec(select(SigningKey).order_by(SigningKey.created_at.desc())).all()
    return [row for row in rows if row.expires_at > now]


def public_keys(session: Session, settings: IdentitySettings) -> list[RSAKey]:
    return [_private_key(row, settings) for row in published(session)]


def jwk_entry(row: SigningKey, settings: IdentitySettings) -> dict:
    public = _private_key(row, settings).as_dict(private=False)
    der = base64.b64decode(row.certificate)
    return {
        "kid": row.kid,
        "use": "sig",
        "kty": "RSA",
        "alg": "RS256",
        "e": public["e"],
        "n": public["n"],
        "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode(),
        "x5c": [row.certificate],
        "exp": row.expires_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{row.expires_at.microsecond // 1000:03d}Z",
    }


def certificate_issuer(session: Session, settings: IdentitySettings) -> tuple[rsa.RSAPrivateKey, x509.Name]:
    """The active signing key and its certificate's subject, to sign certificates this provider issues (wallet bindings)."""
    active = _active(session)
    if active is None:
        raise RuntimeError("no signing key: the service did not finish starting")
    certificate = x509.load_der_x509_certificate(base64.b64decode(active.certificate))
    return _private_key(active, settings).private_key, certificate.subject
