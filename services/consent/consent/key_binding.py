"""Citizen signing keys bound through the Identity BB.

A citizen's wallet binds its public key at the Identity BB (`POST /wallet-binding`, proven with the person's PIN), which
answers with an X.509 certificate for that key signed by its OIDC signing key. The consent BB accepts a citizen's
signing key only together with such a certificate: signed by a key the Identity BB publishes in its JWKS (fetched and
cached like the token keys), for exactly this key, and within its validity. A signature by the key is accepted only
while the certificate is valid.
"""
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from joserfc.jwk import KeySet


class NotBound(ValueError):
    """The key is not certified by the Identity BB (the message says why, for the caller)."""


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise NotBound("publicKeyCertificate is not a PEM X.509 certificate.")


def _signed_by(certificate: x509.Certificate, issuer_public_key) -> bool:
    try:
        if isinstance(issuer_public_key, rsa.RSAPublicKey):
            issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                                     certificate.signature_hash_algorithm)
        elif isinstance(issuer_public_key, ec.EllipticCurvePublicKey):
            issuer_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes,
                                     ec.ECDSA(certificate.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, TypeError, ValueError, UnsupportedAlgorithm):
        return False
    return True


def is_current(certificate: x509.Certificate, now: datetime | None = None) -> bool:
    now = now or datetime.now(timezone.utc)
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def check(pem: str, *, public_key, identity_keys: KeySet) -> x509.Certificate:
    """The certificate, when the Identity BB issued it for `public_key` (a cryptography public key) and it is current."""
    certificate = load(pem)
    if _spki(certificate.public_key()) != _spki(public_key):
        raise NotBound("publicKeyCertificate certifies another key than publicKeyJwk.")
    if not any(_signed_by(certificate, key.public_key) for key in identity_keys.keys):
        raise NotBound("publicKeyCertificate is not signed by the Identity BB.")
    if not is_current(certificate):
        raise NotBound("publicKeyCertificate is expired or not yet valid.")
    return certificate


def still_current(pem: str | None) -> bool:
    """Whether a stored certificate still vouches for its key (checked on each signature by the key)."""
    if not pem:
        return False
    try:
        return is_current(load(pem))
    except NotBound:
        return False
