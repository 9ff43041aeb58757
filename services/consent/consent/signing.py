"""JWS signing and checking of consent signatures (joserfc), and the service's own delegate key."""
import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, KeySet

from consent.chain import canonical_json

ALGORITHMS = ["ES256", "ES384", "RS256", "PS256", "EdDSA"]
_PUBLIC_FIELDS = {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
log = logging.getLogger(__name__)
_lock = threading.Lock()
_service_keys: dict[Path, ECKey] = {}


class InvalidKey(ValueError):
    pass


def public_key(jwk: dict):
    """Import a public JWK; private parts and unknown key types are refused."""
    if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("EC", "RSA", "OKP"):
        raise InvalidKey("a public EC, RSA or OKP JWK is required")
    try:
        key = JWKRegistry.import_key({k: v for k, v in jwk.items() if k in _PUBLIC_FIELDS})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidKey(str(exc)) from exc
    if jwk["kty"] == "RSA" and key.raw_value.key_size < 2048:
        raise InvalidKey("RSA keys must have at least 2048 bits")
    return key


def key_id(jwk: dict) -> str:
    return public_key(jwk).thumbprint()


def service_key(path: Path) -> ECKey:
    """The service's P-256 key, created and kept in `path` (mode 600) on first use."""
    with _lock:
        if path not in _service_keys:
            if not path.exists():
                _create_key_file(path)
            _service_keys[path] = ECKey.import_key(json.loads(path.read_text()))
        return _service_keys[path]


def new_key_json() -> str:
    return json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True))


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` unless another process got there first (API workers start together): the key is
    written in full to a private temporary file, then linked into place, which fails if the path exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 600
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key_json())
        os.link(temporary, path)
        log.warning("created a new service signing key; set SIGNING_KEY_FILE to one shared, persistent key in production")
    except FileExistsError:
        pass  # another process created it; use theirs
    finally:
        os.unlink(temporary)


if __name__ == "__main__":
    # `python -m consent.signing new-key`: print a new private JWK for SIGNING_KEY_FILE (e.g. a Kubernetes Secret).
    if sys.argv[1:] != ["new-key"]:
        sys.exit("usage: python -m consent.signing new-key")
    print(new_key_json())


def sign(payload: str, key) -> str:
    return jws.serialize_compact({"alg": "ES256", "kid": key.thumbprint()}, payload.encode(), key)


def verifies(value: str, payload: str, key) -> bool:
    """True when `value` is a compact JWS by `key` whose payload is exactly `payload`."""
    try:
        token = jws.deserialize_compact(value, KeySet([key]) if not isinstance(key, KeySet) else key, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        return False
    return token.payload == payload.encode()


def signature_payload(*, verification_payload: str, verification_payload_hash: str, verification_method: str,
                      verification_artifact: str | None, verification_signed_by: str, verification_jws_header: str | None,
                      timestamp: str, signed_without_object_reference: bool, object_type: str, object_reference: str | None) -> str:
    """The text a Signature's `signature` signs: the spec's JSON of the verification fields."""
    fields = {
        "verificationPayload": verification_payload, "verificationPayloadHash": verification_payload_hash,
        "verificationMethod": verification_method, "verificationArtifact": verification_artifact,
        "verificationSignedBy": verification_signed_by, "verificationJwsHeader": verification_jws_header,
        "timestamp": timestamp, "signedWithoutObjectReference": signed_without_object_reference, "objectType": object_type,
    }
    if not signed_without_object_reference:
        fields["objectReference"] = object_reference
    return canonical_json(fields)
