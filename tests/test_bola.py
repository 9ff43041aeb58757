"""Broken object-level authorization: one citizen (or calling application) B, holding a valid token, aims every operation
that names a resource at citizen A's resources. Each answer must be a refusal that shows none of A's data, and A's
resources must be unchanged afterwards.

The operations come from each app's OpenAPI document: every operation with a parameter that names an owned resource is
tried, so new operations over the same resources are covered as they are added."""
import base64
import importlib.resources
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from joserfc import jws, jwt
from joserfc.jwk import ECKey

from kernel.testing import serve

IM = {"Information-Mediator-Client": "LA/GOV/LA-DGC/bola-test"}
REFUSED = {403, 404}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def operations(base_url: str) -> list[tuple[str, str, dict]]:
    document = httpx.get(f"{base_url}/openapi.json").json()
    return [(method.upper(), path, operation) for path, item in document["paths"].items() for method, operation in item.items()
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}]


def aimed_at(operation: dict, owned: dict[str, str]) -> dict[str, dict[str, str]] | None:
    """The operation's parameters filled with A's values, by location; None if it names none of A's resources."""
    filled = {"path": {}, "query": {}, "header": {}}
    for parameter in operation.get("parameters", []):
        if parameter["name"] in owned:
            filled[parameter["in"]][parameter["name"]] = owned[parameter["name"]]
    return filled if any(filled.values()) else None


def leaked(response: httpx.Response, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in response.text]


def attack(base_url: str, owned: dict[str, str], context: dict[str, str], headers: dict, secrets: list[str], *,
           bodies: dict | None = None) -> tuple[list[str], list[str]]:
    """B calls every operation naming an owned resource; returns those tried, and what was not refused or showed A's data.

    A path parameter naming A's resource must be refused outright; an owned query or header value may instead be
    ignored (B gets its own view), as long as none of A's data comes back."""
    tried, failures = [], []
    for method, path, operation in operations(base_url):
        filled = aimed_at(operation, owned)
        if filled is None:
            continue
        tried.append(f"{method} {path}")
        url = re.sub(r"\{([^}]+)\}", lambda m: str({**context, **filled["path"]}.get(m.group(1), "none")), path)
        body = (bodies or {}).get((method, path), {}) if method in WRITES and method != "DELETE" else None
        response = httpx.request(method, base_url + url, params=filled["query"], headers={**headers, **filled["header"]},
                                 json=body, timeout=30)
        if filled["path"] and response.status_code not in REFUSED:
            failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 500 or (response.status_code < 300 and method in WRITES):
            failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        if leaked(response, secrets):
            failures.append(f"{method} {path}: shows {leaked(response, secrets)}")
    return tried, failures


# --- registration: applications, drafts, documents, messages, certificates, registry records ---------------------

@pytest.fixture(scope="module")
def registration(infrastructure, oidc_issuer, tmp_path_factory):
    from registration.app import create_app
    from registration.settings import RegistrationSettings

    settings = RegistrationSettings(database_url=infrastructure.new_database("bola_registration"),
                                    amqp_url=infrastructure.new_vhost("bola_registration"), oidc_issuers=[oidc_issuer.url],
                                    environment="test", data_dir=tmp_path_factory.mktemp("bola-registration"))
    with serve(create_app(settings)) as url:
        yield url


def registration_token(oidc_issuer, sub: str, roles=(), scopes=()) -> dict:
    return {"Authorization": f"Bearer {oidc_issuer.token(sub=sub, audience='registration', roles=list(roles), scopes=list(scopes))}", **IM}


def enterprise_service(url: str, oidc_issuer) -> dict:
    """The demo enterprise e-service under a fresh code and operator roles, without its consent step (no Consent BB here)."""
    text = (importlib.resources.files("registration") / "fixture_data" / "lao_enterprise_registration.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    tag = uuid.uuid4().hex[:6]
    document["code"] = f"BOLA{tag.upper()}"
    document["steps"] = [step for step in document["steps"] if step["type"] != "require_consent"]
    document["roles"][0]["operator_roles"], document["roles"][1]["operator_roles"] = [f"reviewer-{tag}"], [f"registrar-{tag}"]
    designer = registration_token(oidc_issuer, unique("designer"), roles=["designer"])
    created = httpx.post(f"{url}/designer/services", json=document, headers=designer)
    assert created.status_code == 201, created.text
    published = httpx.post(f"{url}/designer/services/{created.json()['id']}/publish", headers=designer)
    assert published.status_code == 200, published.text
    return {"id": created.json()["id"], "document": document}


def decide_all(url: str, oidc_issuer, service: dict, file_id: str) -> str:
    """Both processing roles approve; returns the reviewer's (now completed) task id."""
    task_ids = []
    for role in service["document"]["roles"][:2]:
        operator = registration_token(oidc_issuer, unique("operator"), roles=role["operator_roles"])
        tasks = httpx.get(f"{url}/tasks", params={"fileId": file_id, "status": "PENDING"}, headers=operator).json()
        assert len(tasks) == 1, tasks
        done = httpx.post(f"{url}/tasks/{tasks[0]['taskId']}/complete", headers=operator,
                          json={"data": {"decision": "approve", "reason": "checked"}})
        assert done.status_code == 200, done.text
        task_ids.append(tasks[0]["taskId"])
    return task_ids[0]


def test_another_citizen_reaches_none_of_a_citizens_registration_resources(registration, oidc_issuer):
    url = registration
    service = enterprise_service(url, oidc_issuer)
    alice_sub, company = unique("alice"), f"Bola Secret {uuid.uuid4().hex[:8]} Co"
    alice = registration_token(oidc_issuer, alice_sub)
    pdf = b"%PDF-1.4\n% " + company.encode() + b"\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    data = {"company_name_lo": "ບໍລິສັດ ທົດສອບ", "company_name_en": company, "activity": "retail", "province": "VTE",
            "district": "Sisattanak", "registered_capital_lak": 50000000, "owner_name": "Alice Owner", "owner_id_number": "LA-778899"}
    draft = httpx.post(f"{url}/services/{service['id']}/drafts", headers=alice,
                       json={"applicationName": company, "formData": {"data": {"company_name_en": company}, "eFormId": "ler-application"}})
    stored = httpx.post(f"{url}/documents", headers=alice, params={"serviceId": service["id"], "documentType": "owner_id_card"},
                        files={"file": ("id.pdf", pdf, "application/pdf")})
    assert draft.status_code == 201 and stored.status_code == 200, (draft.text, stored.text)
    file = httpx.post(f"{url}/services/{service['id']}/applications", headers=alice,
                      json={"applicantId": "ignored", "applicationName": company, "documentUrls": [stored.json()["url"]],
                            "formData": {"data": data, "eFormId": "ler-application"}})
    assert file.status_code == 200, file.text
    file_id = file.json()["fileId"]
    assert httpx.post(f"{url}/applications/{file_id}/messages", headers=alice, json={"text": f"About {company}"}).status_code == 201
    task_id = decide_all(url, oidc_issuer, service, file_id)
    approved = httpx.get(f"{url}/applications/{file_id}", headers=alice).json()
    owned = {"file_id": file_id, "draft_id": draft.json()["fileId"], "document_id": stored.json()["url"].rsplit("/", 1)[-1],
             "registration_number": approved["registrationNumber"], "task_id": task_id, "applicantId": alice_sub, "fileId": file_id}
    views = lambda: [(r.status_code, r.content) for r in (httpx.get(f"{url}{path}", headers=alice) for path in (  # noqa: E731
        f"/applications/{file_id}", f"/drafts/{owned['draft_id']}", f"/documents/{owned['document_id']}", f"/applications/{file_id}/messages"))]
    before = views()
    bob = registration_token(oidc_issuer, unique("bob"))

    tried, failures = attack(url, owned, {"service_id": service["id"]}, bob, [company, alice_sub, "LA-778899"],
                      bodies={("PUT", "/applications/{file_id}"): {"formData": {"data": {**data, "company_name_en": "Taken Over"}}},
                              ("PUT", "/drafts/{draft_id}"): {"formData": {"data": {"company_name_en": "Taken Over"}}},
                              ("POST", "/drafts/{draft_id}/submit"): {"confirm": True},
                              ("POST", "/applications/{file_id}/messages"): {"text": "hello"},
                              ("POST", "/tasks/{task_id}/complete"): {"data": {"decision": "reject", "reason": "mine now"}}})

    assert len(tried) >= 15  # applications, drafts, documents, messages, audit, certificate, tasks, registry
    assert failures == [], "\n".join(failures)
    assert views() == before
    assert [status for status, _ in before] == [200, 200, 200, 200] and before[2][1] == pdf


# --- consent: individuals, their signing keys, consent records --------------------------------------------------

@pytest.fixture(scope="module")
def consent(infrastructure, oidc_issuer, tmp_path_factory):
    from consent.app import create_app
    from consent.settings import ConsentSettings

    settings = ConsentSettings(database_url=infrastructure.new_database("bola_consent"), amqp_url=infrastructure.new_vhost("bola_consent"),
                               oidc_issuers=[oidc_issuer.url], environment="test", data_dir=tmp_path_factory.mktemp("bola-consent"))
    with serve(create_app(settings)) as url:
        yield url


def consent_token(oidc_issuer, sub: str, *roles: str) -> dict:
    return {"Authorization": f"Bearer {oidc_issuer.token(sub=sub, audience='consent', roles=list(roles))}"}


def certified(oidc_issuer, key: ECKey, subject: str) -> dict:
    """The key with the certificate the Identity BB issues when a wallet binds it and its attestation that the key is the
    subject's (POST /wallet-binding/attestation); the token issuer plays the Identity BB here."""
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    certificate = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, unique("wallet"))]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])).public_key(key.public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + timedelta(days=30))
                   .sign(oidc_issuer.keys[-1].private_key, hashes.SHA256()))
    now = int(datetime.now(timezone.utc).timestamp())
    attestation = jwt.encode({"alg": "RS256", "kid": oidc_issuer.keys[-1].kid, "typ": "key-binding+jwt"}, {
        "iss": oidc_issuer.url, "sub": subject, "aud": "test-client", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
        "cnf": {"jkt": key.thumbprint()}}, oidc_issuer.keys[-1])
    return {"publicKeyJwk": key.as_dict(private=False), "publicKeyCertificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "keyBindingAttestation": attestation}


def registered_individual(url: str, oidc_issuer) -> tuple[dict, str, ECKey, str]:
    subject, key = unique("citizen"), ECKey.generate_key("P-256", private=True)
    headers = consent_token(oidc_issuer, subject, "citizen")
    response = httpx.post(f"{url}/service/individual/", headers=headers, json={"individual": {
        "externalId": subject, "externalIdType": "oidc subject", "identityProviderId": "test", **certified(oidc_issuer, key, subject)}})
    assert response.status_code == 200, response.text
    individual_id = response.json()["individual"]["id"]
    return {**headers, "X-ConsentBB-IndividualId": individual_id}, individual_id, key, subject


def test_another_citizen_reaches_none_of_a_citizens_consent_records_or_keys(consent, oidc_issuer):
    url = consent
    admin = consent_token(oidc_issuer, unique("admin"), "admin")
    policy = httpx.post(f"{url}/config/policy/", headers=admin, json={"policy": {
        "name": unique("Policy"), "version": "1.0", "url": f"https://example.la/{uuid.uuid4().hex}", "jurisdiction": "LA",
        "industrySector": "Public", "dataRetentionPeriodDays": 365}}).json()["policy"]
    agreement = httpx.post(f"{url}/config/data-agreement/", headers=admin, json={"dataAgreement": {
        "version": "1.0", "purpose": "Share data with the paying agency", "lawfulBasis": "consent", "dpia": "",
        "controller": {"name": "Ministry", "url": "https://molsw.gov.la"}, "policy": {"id": policy["id"]}, "dataUse": "data_using_service",
        "active": True, "forgettable": False, "dataAttributes": [{"name": "phone_number", "sensitivity": "personal", "category": "contact"}]}}
    ).json()["dataAgreement"]
    alice, alice_id, alice_key, _ = registered_individual(url, oidc_issuer)
    draft = httpx.post(f"{url}/service/individual/record/consent-record/draft/", headers=alice,
                       params={"individualId": alice_id, "dataAgreementId": agreement["id"]}).json()
    signature = {**draft["signature"], "signature": jws.serialize_compact({"alg": "ES256"}, draft["signature"]["payload"].encode(), alice_key)}
    record = httpx.post(f"{url}/service/individual/record/consent-record/", headers=alice,
                        json={"consentRecord": draft["consentRecord"], "signature": signature})
    assert record.status_code == 200, record.text
    record_id = record.json()["consentRecord"]["id"]
    bob, bob_id, bob_key, bob_subject = registered_individual(url, oidc_issuer)
    views = lambda: [httpx.get(f"{url}{path}", headers=alice).json() for path in (  # noqa: E731
        "/service/individual/record/consent-record/", f"/service/individual/{alice_id}/")]
    before = views()
    bob_as_alice = {**bob, "X-ConsentBB-IndividualId": alice_id}
    bob_draft = {"consentRecord": {**draft["consentRecord"], "individualId": alice_id}, "signature": signature}

    tried, failures = attack(url, {"individualId": alice_id, "consentRecordId": record_id, "X-ConsentBB-IndividualId": alice_id},
                      {"dataAgreementId": agreement["id"], "policyId": policy["id"]}, bob_as_alice, [record_id, alice_key.as_dict()["x"]],
                      bodies={("PUT", "/service/individual/{individualId}/"): {"individual": certified(oidc_issuer, bob_key, bob_subject)},
                              ("PUT", "/service/individual/record/consent-record/{consentRecordId}/"): {"consentRecord": {"optIn": False}},
                              ("POST", "/service/individual/record/consent-record/"): bob_draft,
                              ("POST", "/service/individual/record/consent-record/{consentRecordId}/signature/"): {"signature": signature},
                              ("PUT", "/service/individual/record/consent-record/{consentRecordId}/signature/"): {"signature": signature}})

    assert len(tried) >= 15  # individuals, records, signatures, verification and audit by individual or record
    assert failures == [], "\n".join(failures)
    assert views() == before  # still opted in, still signed with Alice's own key


# --- messaging: another application's requests, by api_key ----------------------------------------------------

@pytest.fixture(scope="module")
def messaging(infrastructure, oidc_issuer):
    from messaging.app import create_app
    from messaging.settings import MessagingSettings

    settings = MessagingSettings(database_url=infrastructure.new_database("bola_messaging"), amqp_url=infrastructure.new_vhost("bola_messaging"),
                                 oidc_issuers=[oidc_issuer.url], environment="test")
    with serve(create_app(settings)) as url:
        yield url


def api_key(url: str, oidc_issuer, name: str) -> str:
    admin = {"Authorization": f"Bearer {oidc_issuer.token(audience='messaging', roles=['admin'])}"}
    response = httpx.post(f"{url}/admin/api-keys", json={"name": name}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["apiKey"]


def test_another_application_reaches_none_of_an_applications_messages(messaging, oidc_issuer):
    url = messaging
    alice_key, bob_key = api_key(url, oidc_issuer, "alice app"), api_key(url, oidc_issuer, "bob app")
    secret = unique("citizen") + "@example.la"
    sent = httpx.post(f"{url}/send/email/single", headers={"api_key": alice_key},
                      json={"recipientInfo": {"email": secret}, "emailContent": {"title": "Your permit", "content": "Approved."}})
    assert sent.status_code == 200, sent.text
    request_uid = sent.json()["requestUID"]
    statuses = [("status[]", name) for name in ("scheduled", "processing", "deferred", "bounced", "notSent", "delivered")]
    mine = lambda: httpx.get(f"{url}/status/email", params=statuses, headers={"api_key": alice_key, "requestUID": request_uid}).json()  # noqa: E731
    before = mine()
    # Every operation that names a request by its requestUID header (the spec's status and reply operations).
    named = [(method, path) for method, path, _ in operations(url) if re.match(r"^(/v1)?/(status|callback)/(email|sms)(/history)?$", path)]
    reply = {"meta": "", "content": base64.b64encode(b"a reply").decode()}

    answers = {(method, path): httpx.request(method, url + path, params=statuses if method == "GET" else None,
                                             json=reply if method == "POST" else None,
                                             headers={"api_key": bob_key, "requestUID": request_uid}) for method, path in named}

    assert len(named) >= 4
    # GovStack Messaging answers every refusal with 405 Invalid input; the request is not another caller's to see.
    assert {key: answer.status_code for key, answer in answers.items()} == {key: 405 for key in named}
    assert not [key for key, answer in answers.items() if secret in answer.text or "Approved" in answer.text]
    assert mine() == before


# --- gateway: pub/sub subscriptions and events of another application ----------------------------------------------

@pytest.fixture(scope="module")
def gateway(infrastructure, oidc_issuer):
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(database_url=infrastructure.new_database("bola_gateway"), amqp_url=infrastructure.new_vhost("bola_gateway"),
                               oidc_issuers=[oidc_issuer.url], environment="test")
    with serve(create_app(settings)) as url:
        yield url


def test_another_application_reaches_none_of_an_applications_subscriptions_or_events(gateway, oidc_issuer):
    url, code = gateway, f"BOLA{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {oidc_issuer.token(audience='gateway', roles=['admin'])}"}
    client_ids = {name: f"{name}-{code.lower()}" for name in ("events", "hospital", "school")}
    config = {"members": [{"class": "GOV", "code": code, "applications": [
        {"id": "events", "clientId": client_ids["events"], "room": True},
        {"id": "hospital", "clientId": client_ids["hospital"]}, {"id": "school", "clientId": client_ids["school"]}]}]}
    assert httpx.patch(f"{url}/api/v1/config", json=config, headers=admin).status_code == 201
    as_ = lambda name, token_of=None: {"Information-Mediator-Client": f"LA/GOV/{code}/{name}", "Authorization": "Bearer " +  # noqa: E731
                                       oidc_issuer.token(audience="gateway", client_id=client_ids[token_of or name])}
    room = lambda path: f"{url}/r1/LA/GOV/{code}/events/{path}"  # noqa: E731
    schema = {"type": "object", "properties": {"childId": {"type": "string"}}}
    assert httpx.post(room("api/v1/eventType"), json={"eventType": "newBirth", "schema": schema}, headers=as_("events")).status_code == 200
    rights = [{"memberClass": "GOV", "memberCode": code, "applicationId": "events", "serviceId": "newBirth",
               "rights": [{"memberClass": "GOV", "memberCode": code, "applicationId": name} for name in ("hospital", "school")]}]
    assert httpx.patch(f"{url}/api/v1/rights/allow", json=rights, headers=admin).status_code == 200
    subscribed = httpx.post(room("api/v1/subs/newBirth"), json={"delivery": "PULL", "options": {"TTL": 3600, "FIFO": False}}, headers=as_("hospital"))
    published = httpx.post(room("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": "secret-child-7"}}, headers=as_("hospital"))
    assert subscribed.status_code == 200 and published.status_code in (200, 201, 202), (subscribed.text, published.text)
    event_id = published.json()["eventId"] if "eventId" in published.json() else published.json()["id"]
    own = lambda: httpx.get(room("api/v1/subs/newBirth"), headers=as_("hospital")).json()  # noqa: E731
    before = own()

    attempts = {
        "read its subscription": ("GET", "api/v1/subs/newBirth", None, {404}),
        "change its subscription": ("PATCH", "api/v1/subs/newBirth", {"delivery": "PUSH", "pushUrl": "https://evil.example/x"}, {404}),
        "cancel its subscription": ("DELETE", "api/v1/subs/newBirth", None, {404}),
        "pull its events": ("GET", "pull/v1/newBirth", None, {404}),
        "acknowledge its event": ("DELETE", f"pull/v1/newBirth/{event_id}", None, {404}),
        "read its event's delivery status": ("GET", f"pub/v1/newBirth/{event_id}", None, {403}),
        "stop its event": ("DELETE", f"pub/v1/newBirth/{event_id}", None, {403}),
    }
    answers = {label: httpx.request(method, room(path), json=body, headers=as_("school")) for label, (method, path, body, _) in attempts.items()}
    listed = httpx.get(room("api/v1/subs"), headers=as_("school"))
    impersonating = httpx.get(room("api/v1/subs/newBirth"), headers=as_("hospital", token_of="school"))  # its name, another's token

    assert [f"{label}: {answers[label].status_code}" for label, (*_, expected) in attempts.items() if answers[label].status_code not in expected] == []
    assert not [label for label, answer in answers.items() if "secret-child-7" in answer.text or before["id"] in answer.text]
    assert listed.status_code == 200 and listed.json() == []
    assert impersonating.status_code in (401, 403) and before["id"] not in impersonating.text
    assert own() == before
    pulled = httpx.get(room("pull/v1/newBirth"), headers=as_("hospital"))
    assert pulled.status_code == 200 and "secret-child-7" in pulled.text  # still there for its subscriber
