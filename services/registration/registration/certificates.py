"""Certificates of approved registrations: the registry record as a JWS (ES256) signed with the service's certificate
key, so anyone holding the public key (GET /certificates/keys) can check a certificate a citizen shows them."""
import json
from functools import lru_cache

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from registration import design
from registration.models import ApplicationFile, RegistryRecord
from registration.schemas import iso

ALGORITHM = "ES256"


@lru_cache(maxsize=4)
def signing_key(private_jwk: str) -> ECKey:
    return ECKey.import_key(json.loads(private_jwk))


def public_keys(private_jwk: str) -> dict:
    return KeySet([signing_key(private_jwk)]).as_dict(private=False)


def record(*, file: ApplicationFile, registry: RegistryRecord, document: dict, data: dict, issuer: str, issued) -> dict:
    """What the certificate states, in both languages where it names the service; `data` is the part of the registry
    record its reader may see."""
    return {"iss": issuer, "registrationNumber": registry.registration_number, "serviceId": file.service_id,
            "serviceName": {language: design.text(document.get("name"), language) for language in design.LANGUAGES},
            "fileId": file.id, "holder": file.applicant_id, "registered": iso(registry.created), "issued": iso(issued),
            "data": data}


def sign(content: dict, private_jwk: str) -> str:
    key = signing_key(private_jwk)
    payload = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return jws.serialize_compact({"alg": ALGORITHM, "kid": key.kid, "typ": "registration-certificate+jws"}, payload, key,
                                 algorithms=[ALGORITHM])
