"""Wallet keys: binding a wallet's public key to a person, its certificate, WLA challenges signed with a bound key, and
attestations that a bound key belongs to the person behind an access token."""
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key
from sqlmodel import Session, select

from identity import keys, tokens
from identity.models import WalletBinding, utcnow
from identity.settings import IdentitySettings

AUTH_FACTOR_TYPES = ("WLA", "PIN", "OTP", "BIO")
CHALLENGE_FORMATS = ("alpha-numeric", "jwt", "encoded-json", "number")
WLA_ALGORITHMS = ["RS256", "PS256", "ES256"]
ATTESTATION_TYPE = "key-binding+jwt"  # JOSE `typ`, so the attestation cannot pass for an access or ID token
ATTESTATION_SECONDS = 300


class InvalidKey(ValueError):
    pass


@dataclass
class PublicKey:
    jwk: dict
    thumbprint: str
    crypto_key: object


def parse_public_key(value) -> PublicKey:
    """A public RSA (2048 bits or more) or EC P-256 key in JWK form; private keys are refused so that none gets stored."""
    if not isinstance(value, dict):
        raise InvalidKey("publicKey must be a JWK object.")
    try:
        key = import_key(value)
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidKey("publicKey is not a valid JWK.")
    if key.is_private:
        raise InvalidKey("publicKey must not contain private key material.")
    if key.key_type == "RSA" and key.public_key.key_size < 2048:
        raise InvalidKey("RSA keys must have at least 2048 bits.")
    if key.key_type not in ("RSA", "EC") or (key.key_type == "EC" and value.get("crv") != "P-256"):
        raise InvalidKey("Only RSA and EC P-256 keys are supported.")
    return PublicKey(jwk=key.as_dict(private=False), thumbprint=key.thumbprint(), crypto_key=key.public_key)


def issue_certificate(session: Session, settings: IdentitySettings, *, wallet_user_id: str, public_key: PublicKey,
                      not_after: datetime) -> str:
    """An X.509 certificate (PEM) for the wallet key, signed by the identity provider's signing key."""
    signer, issuer_name = keys.certificate_issuer(session, settings)
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wallet_user_id)]))
        .issuer_name(issuer_name)
        .public_key(public_key.crypto_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .sign(signer, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def verify_wla(session: Session, settings: IdentitySettings, *, person_id: str, linked_transaction_id: str, challenge: str) -> bool:
    """The wallet signed a JWT with a key bound to this person for WLA: iss = its walletUserId, aud = our issuer,
    sub = the linked transaction (so it cannot be replayed elsewhere), short-lived."""
    now = utcnow()
    bindings = session.exec(select(WalletBinding).where(WalletBinding.person_id == person_id, WalletBinding.auth_factor_type == "WLA")).all()
    for binding in bindings:
        if binding.expires_at <= now:
            continue
        try:
            claims = jwt.decode(challenge, KeySet([import_key(binding.public_key)]), algorithms=WLA_ALGORITHMS).claims
            jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": binding.wallet_user_id},
                                  aud={"essential": True, "value": settings.issuer},
                                  sub={"essential": True, "value": linked_transaction_id},
                                  exp={"essential": True}, iat={"essential": True}).validate(claims)
        except (JoseError, ValueError, TypeError, KeyError, RecursionError):  # RecursionError: a signed, deeply nested payload
            continue
        if isinstance(claims["exp"], int) and claims["exp"] - time.time() <= settings.wallet_assertion_max_seconds:
            return True
    return False


def key_of_certificate(pem: str) -> PublicKey:
    """The public key a certificate carries, checked as parse_public_key checks a JWK. Whether we issued the certificate
    does not matter: the key only serves to find a binding in our own table."""
    try:
        public = x509.load_pem_x509_certificate(pem.encode()).public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidKey("certificate is not a PEM X.509 certificate.")
    if isinstance(public, rsa.RSAPublicKey):
        return parse_public_key(RSAKey.import_key(public).as_dict(private=False))
    if isinstance(public, ec.EllipticCurvePublicKey):
        return parse_public_key(ECKey.import_key(public).as_dict(private=False))
    raise InvalidKey("Only RSA and EC P-256 keys are supported.")


def bindings_of(session: Session, *, person_id: str, thumbprint: str) -> list[WalletBinding]:
    """The person's bindings of this key (any partner, any factor), expired ones too."""
    return list(session.exec(select(WalletBinding).where(WalletBinding.person_id == person_id,
                                                         WalletBinding.key_thumbprint == thumbprint)).all())


def current(bindings: list[WalletBinding]) -> WalletBinding | None:
    """The unexpired binding that lasts longest, if any."""
    now = utcnow()
    return max((b for b in bindings if b.expires_at > now), key=lambda b: b.expires_at, default=None)


def attest(session: Session, settings: IdentitySettings, *, binding: WalletBinding, subject: str, audience: str) -> tuple[str, int]:
    """A short-lived JWT saying the key (RFC 7800 `cnf.jkt`, the RFC 7638 thumbprint) belongs to `subject`, the person's
    pairwise subject at `audience` (the client whose token asked); never valid beyond the binding. With its expiry."""
    now = int(time.time())
    expires = min(now + ATTESTATION_SECONDS, int(binding.expires_at.timestamp()))
    claims = {"iss": settings.issuer, "sub": subject, "aud": audience, "iat": now, "exp": expires, "jti": tokens.new_jti(),
              "cnf": {"jkt": binding.key_thumbprint}}
    return tokens.sign(session, settings, claims, typ=ATTESTATION_TYPE), expires
