"""Citizen signing keys bound through the Identity BB.

A citizen's wallet binds its public key at the Identity BB (`POST /wallet-binding`, proven with the person's PIN), which
answers with an X.509 certificate for that key signed by its OIDC signing key. The consent BB accepts a citizen's
signing key only together with such a certificate: signed by a key the Identity BB publishes in its JWKS (fetched and
cached like the token keys), for exactly this key, and within its validity. A signature by the key is accepted only
while the certificate is valid.

The certificate names the wallet binding, not a subject we know, so the key also needs the Identity BB's attestation
(`POST /wallet-binding/attestation`, asked with the citizen's own access token): a short-lived JWT (`typ`
key-binding+jwt) whose `sub` is the citizen's subject here, `aud` the token's client and `cnf.jkt` the key's RFC 7638
thumbprint (RFC 7800). It is checked once, when the key is registered; nothing of it is stored.
"""
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

ATTESTATION_TYPE = "key-binding+jwt"
ATTESTATION_ALGORITHMS = ["RS256", "PS256", "ES256"]


class NotBound(ValueError):
    """The key is not certified by the Identity BB (the message says why, for the caller)."""

    status = 400


class NotTheirs(NotBound):
    """The Identity BB attests the key for another person (or client) than the caller's token."""

    status = 403


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


def check_attestation(token: str, *, identity_keys: KeySet, issuer: str, subject: str, client_id: str | None, thumbprint: str) -> None:
    """The Identity BB attests that the key with this thumbprint belongs to `subject`, for the token's client, now."""
    try:
        decoded = jwt.decode(token, identity_keys, algorithms=ATTESTATION_ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError):
        raise NotBound("keyBindingAttestation is not signed by the Identity BB.")
    claims = decoded.claims
    if decoded.header.get("typ") != ATTESTATION_TYPE or not isinstance(claims.get("iss"), str) or claims["iss"].rstrip("/") != issuer:
        raise NotBound("keyBindingAttestation is not a key-binding attestation of the Identity BB.")
    try:
        jwt.JWTClaimsRegistry(leeway=30, exp={"essential": True}, iat={"essential": True}).validate(claims)
    except ExpiredTokenError:
        raise NotBound("keyBindingAttestation has expired; ask the Identity BB for a new one.")
    except (JoseError, ValueError, TypeError):
        raise NotBound("keyBindingAttestation is not a key-binding attestation of the Identity BB.")
    cnf = claims.get("cnf")
    if not isinstance(cnf, dict) or cnf.get("jkt") != thumbprint:
        raise NotBound("keyBindingAttestation attests another key than publicKeyJwk.")
    aud = claims.get("aud")
    audiences = {aud} if isinstance(aud, str) else {a for a in aud if isinstance(a, str)} if isinstance(aud, list) else set()
    if claims.get("sub") != subject or client_id not in audiences:
        raise NotTheirs("keyBindingAttestation is for another person or client than this token.")
