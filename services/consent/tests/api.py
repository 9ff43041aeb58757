"""API helpers that assert the expected status and return the body."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from joserfc import jws, jwt


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def create_policy(client: httpx.Client, admin: dict, **overrides) -> dict:
    policy = {"name": f"Policy {uuid.uuid4().hex[:6]}", "version": "1.0", "url": f"https://example.la/policy/{uuid.uuid4().hex}",
              "jurisdiction": "LA", "industrySector": "Public", "dataRetentionPeriodDays": 365, **overrides}
    return ok(client.post("/config/policy/", headers=admin, json={"policy": policy}))


def create_agreement(client: httpx.Client, admin: dict, *, policy_id: str, **overrides) -> dict:
    agreement = {
        "version": "1.0", "purpose": "Share data with the paying agency", "lawfulBasis": "consent", "dpia": "",
        "controller": {"name": "Ministry of Labour and Social Welfare", "url": "https://molsw.gov.la"},
        "policy": {"id": policy_id}, "dataUse": "data_using_service", "active": True, "forgettable": False,
        "dataAttributes": [{"name": "phone_number", "sensitivity": "personal", "category": "contact"}], **overrides,
    }
    return ok(client.post("/config/data-agreement/", headers=admin, json={"dataAgreement": agreement}))


def sign(payload: str, key) -> str:
    return jws.serialize_compact({"alg": "ES256"}, payload.encode(), key)


def give_signed_consent(client: httpx.Client, citizen, agreement_id: str) -> dict:
    """Draft -> sign with the citizen's key -> store."""
    draft = ok(client.post("/service/individual/record/consent-record/draft/", headers=citizen.headers,
                           params={"individualId": citizen.individual_id, "dataAgreementId": agreement_id}))
    signature = {**draft["signature"], "signature": sign(draft["signature"]["payload"], citizen.key)}
    return ok(client.post("/service/individual/record/consent-record/", headers=citizen.headers,
                          json={"consentRecord": draft["consentRecord"], "signature": signature}))


def has_consent(client: httpx.Client, verifier: dict, individual_id: str, agreement_id: str) -> bool:
    return ok(client.get("/service/verification/consent-record/", headers=verifier,
                         params={"individualId": individual_id, "dataAgreementId": agreement_id}))["valid"]


def wallet_certificate(issuer_key, public_key, *, valid_from: datetime | None = None, days: float = 365) -> str:
    """A certificate for a wallet's key signed by an issuer's signing key, as the Identity BB's /wallet-binding issues
    (identity/wallet.py::issue_certificate); test_key_binding.py also takes real ones from a real Identity BB."""
    start = valid_from or datetime.now(timezone.utc) - timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(uuid.uuid4()))])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")]))
                   .public_key(public_key.public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + timedelta(days=days))
                   .sign(issuer_key.private_key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def key_attestation(issuer, key, *, subject: str, audience: str = "test-client", expires_in: int = 300, signer=None, **claims) -> str:
    """The Identity BB's attestation that `key` is the person's (`sub` at the token's client `aud`, `cnf.jkt`), as its
    POST /wallet-binding/attestation issues (identity/wallet.py::attest), signed by `issuer` playing the Identity BB."""
    now = int(time.time())
    signer = signer or issuer.keys[-1]
    payload = {"iss": issuer.url, "sub": subject, "aud": audience, "iat": now, "exp": now + expires_in, "jti": uuid.uuid4().hex,
               "cnf": {"jkt": key.thumbprint()}, **claims}
    return jwt.encode({"alg": "RS256", "kid": signer.kid, "typ": "key-binding+jwt"}, payload, signer)
