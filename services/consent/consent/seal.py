"""Seals: the service's audit key signs each revision's place in its chain, so that rewriting history and recomputing
every hash is not enough to pass verification.

The key's private half is stored only encrypted (Fernet, key derived by HKDF) under AUDIT_KEY_SECRET, which is not in
the database. Verification trusts only keys that open with the secret, or the public keys an auditor exported earlier
(`python -m consent.audit keys`), so a key planted in the database does not count. A seal is a compact ES256 JWS over
(revisionId, schemaName, objectId, number, serializedHash, predecessorHash, predecessorSignature).
"""
import base64
import json
import logging
import uuid

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import event, text
from sqlmodel import Session, col, select

from consent.chain import canonical_json
from consent.models import AuditKey, Revision

log = logging.getLogger(__name__)
_secret: str | None = None
_keys: dict[str, ECKey] = {}  # the signing key by database URL, once its creation is committed


def use_key_secret(secret: str) -> None:
    """The secret sealing the audit key (the app sets it from its settings; commands read their own settings)."""
    global _secret
    _secret = secret


def _sealer(secret: str | None) -> Fernet:
    if secret is None:
        if _secret is None:
            from consent.settings import ConsentSettings

            use_key_secret(ConsentSettings().audit_key_secret)
        secret = _secret
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"consent audit signing key").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _open(stored: AuditKey, secret: str | None = None) -> ECKey | None:
    """The private key if it was sealed under this secret, else None (planted, or sealed under another secret)."""
    try:
        key = ECKey.import_key(json.loads(_sealer(secret).decrypt(stored.sealed_private_jwk.encode())))
    except (InvalidToken, ValueError, TypeError, JoseError):
        return None
    return key if key.kid == stored.kid else None


def trusted_keys(session: Session, secret: str | None = None) -> dict[str, ECKey]:
    """The audit keys in the database that open with the secret, by kid."""
    return {stored.kid: key for stored in session.exec(select(AuditKey)) if (key := _open(stored, secret)) is not None}


def public_keys(session: Session, secret: str | None = None) -> dict:
    """A JWKS of the trusted audit keys' public halves, for auditors who verify without the secret."""
    return {"keys": [key.as_dict(private=False) for key in trusted_keys(session, secret).values()]}


def keys_from_jwks(jwks: dict) -> dict[str, ECKey]:
    """Public keys an auditor supplies (the `keys` export); private parts are dropped."""
    public = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        key = ECKey.import_key({name: value for name, value in jwk.items() if name != "d"})
        public[key.kid or key.thumbprint()] = key
    return public


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # API workers start together: one creates the first key, the others then use it.
        session.exec(text("SELECT pg_advisory_xact_lock(727276)"))


def signing_key(session: Session) -> ECKey:
    """The newest audit key that opens with the secret; the first one is made here, in the caller's transaction."""
    url = str(session.get_bind().url)
    if url in _keys:
        return _keys[url]
    _lock(session)
    stored = list(session.exec(select(AuditKey).order_by(col(AuditKey.created_at).desc())))
    key = next((opened for s in stored if (opened := _open(s)) is not None), None)
    if key is None and stored:
        raise RuntimeError("no audit key in the database opens with AUDIT_KEY_SECRET")
    if key is None:
        key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "alg": "ES256"})
        session.add(AuditKey(kid=key.kid, public_jwk=key.as_dict(private=False),
                             sealed_private_jwk=_sealer(None).encrypt(json.dumps(key.as_dict(private=True)).encode()).decode()))
        session.flush()
        log.warning("created the consent audit key; revisions are sealed with it from now on")
    # Remembered only once committed: a key whose creation rolled back must never seal anything.
    event.listen(session, "after_commit", lambda _: _keys.setdefault(url, key), once=True)
    return key


def forget_cached_keys() -> None:
    _keys.clear()


def revision_payload(revision: Revision) -> str:
    return canonical_json({"revisionId": revision.id, "schemaName": revision.schema_name, "objectId": revision.object_id,
                           "number": revision.number, "serializedHash": revision.serialized_hash,
                           "predecessorHash": revision.predecessor_hash, "predecessorSignature": revision.predecessor_signature})


def erasure_payload(erased) -> str:
    return canonical_json({"type": "erasure", "schemaName": erased.schema_name, "objectId": erased.object_id,
                           "number": erased.number, "revisionId": erased.revision_id, "erasedAt": erased.erased_at})


def sign(payload: str, key: ECKey) -> str:
    return jws.serialize_compact({"alg": "ES256", "kid": key.kid}, payload.encode(), key)


def signed_payload(token: str, keys: dict[str, ECKey]) -> tuple[bytes | None, str | None]:
    """(payload, None) when `token` is a JWS by one of `keys`, else (None, why not)."""
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, TypeError, AttributeError):
        return None, "is not a JWS"
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        return None, "is made with a key that does not open with AUDIT_KEY_SECRET (nor is trusted)"
    try:
        return jws.deserialize_compact(token, key, algorithms=["ES256"]).payload, None
    except (JoseError, ValueError, TypeError):
        return None, "does not verify"


def seal_problem(revision: Revision, keys: dict[str, ECKey]) -> str | None:
    """Why the revision's seal does not hold with these keys, or None."""
    if not revision.seal:
        return "the revision is not sealed"
    payload, why = signed_payload(revision.seal, keys)
    if payload is None:
        return f"the revision's seal {why}"
    if payload != revision_payload(revision).encode():
        return "the revision's seal covers another revision, place, hash or predecessor"
    return None
