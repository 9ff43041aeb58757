"""schemathesis against each service's own OpenAPI document: generated requests never produce a 5xx and documented
responses match their schemas. Requests carry a token with every role, so they reach past authentication."""
import importlib

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from kernel.testing import serve

SERVICES = {"identity": "IdentitySettings", "registration": "RegistrationSettings", "consent": "ConsentSettings",
            "messaging": "MessagingSettings", "gateway": "GatewaySettings"}
EXAMPLES_PER_OPERATION = 15  # enough to find crashes on malformed input, small enough for CI
ROLES = ["admin", "designer", "operator", "auditor", "verifier", "application"]
SCOPES = ["add_oidc_client", "update_oidc_client", "registry.read", "statistics.read"]


@pytest.fixture(scope="module", params=sorted(SERVICES))
def running_service(request, infrastructure, oidc_issuer):
    name = request.param
    settings_cls = getattr(importlib.import_module(f"{name}.settings"), SERVICES[name])
    service_settings = settings_cls(database_url=infrastructure.new_database(f"fuzz_{name}"),
                                    amqp_url=infrastructure.new_vhost(f"fuzz_{name}"), oidc_issuers=[oidc_issuer.url])
    with serve(importlib.import_module(f"{name}.app").create_app(service_settings)) as url:
        yield name, url


def _object_of_anything(*names: str) -> dict:
    return {"type": "object", "properties": {name: {} for name in names}}  # {}: any JSON value, garbage included


# Operations that read their JSON body themselves (GovStack shapes, IMconf documents) document no requestBody; the
# shapes they read are given here so that generated bodies reach past "no body" into their parsers.
IMCONF = {"type": "object", "properties": {"instance": {}, "members": {"type": "array", "items": {
    "type": "object", "properties": {"class": {}, "code": {}, "name": {}, "instance": {}, "applications": {"type": "array", "items": {
        "type": "object", "properties": {"id": {}, "clientId": {}, "connection": {}, "room": {}, "services": {"type": "array", "items": {
            "type": "object", "properties": {"id": {}, "serviceUrl": {}, "enabled": {}, "rights": {"type": "array", "items": _object_of_anything("member", "application")}},
        }}}}}}}}}}
RECIPIENT_INFO = {"anyOf": [  # mostly valid single recipients (their parsers then run), or any batch string
    {"type": "object", "required": ["email", "phoneNumber"], "properties": {
        "email": {"type": "string", "format": "email"}, "phoneNumber": {"type": "string", "pattern": "^\\+85620[0-9]{8}$"},
        "name": {"type": "string", "maxLength": 50}}},
    {"type": "object", "properties": {"batchEmailAsBase64": {"type": "string"}}, "required": ["batchEmailAsBase64"]}]}
STATUS_NAMES = {"name": "status[]", "in": "query", "style": "form", "explode": True,
                "schema": {"type": "array", "items": {"anyOf": [{"enum": ["scheduled", "processing", "deferred", "bounced", "notSent", "delivered"]}, {"type": "string"}]}}}


def _model_body(model_path: str) -> dict:
    module, _, name = model_path.rpartition(".")
    schema = getattr(importlib.import_module(module), name).model_json_schema(ref_template="#/components/schemas/{model}")
    if "recipientInfo" in schema.get("properties", {}):
        schema["properties"]["recipientInfo"] = RECIPIENT_INFO
    return schema


BODIES = {
    "messaging": {
        ("post", "/send/email/single"): "messaging.schemas.EmailIn", ("post", "/send/email/batch"): "messaging.schemas.EmailIn",
        ("post", "/send/sms/single"): "messaging.schemas.SmsIn", ("post", "/send/sms/batch"): "messaging.schemas.SmsIn",
        ("post", "/callback/email"): "messaging.schemas.CallbackContent", ("post", "/callback/sms"): "messaging.schemas.CallbackContent",
    },
    "gateway": {("post", "/api/v1/config"): IMCONF, ("patch", "/api/v1/config"): IMCONF, ("put", "/api/v1/config"): IMCONF},
}


QUERIES = {"messaging": {("get", "/status/email"): [STATUS_NAMES], ("get", "/status/sms"): [STATUS_NAMES]}}


def with_bodies(document: dict, name: str) -> dict:
    """The service's OpenAPI document with the request bodies and query parameters its own parsers read."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for (method, path), body in BODIES.get(name, {}).items():
        schema = _model_body(body) if isinstance(body, str) else body
        components.update(schema.pop("$defs", {}))
        document["paths"][path][method]["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    for (method, path), parameters in QUERIES.get(name, {}).items():
        document["paths"][path][method].setdefault("parameters", []).extend(parameters)
    return document


def messaging_caller(url: str, token: str) -> dict:
    """GovStack Messaging authenticates callers by api_key and names a request by its requestUID header: a key made
    through the admin API and one real request reach past both checks into the status and reply parsers."""
    response = httpx.post(f"{url}/admin/api-keys", json={"name": "fuzz"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    key = response.json()["apiKey"]
    response = httpx.post(f"{url}/send/email/single", headers={"api_key": key}, json={
        "recipientInfo": {"email": "fuzz@example.la"}, "emailContent": {"title": "Fuzz", "content": "Fuzzing target."}})
    assert response.status_code == 200, response.text
    return {"api_key": key, "requestUID": response.json()["requestUID"]}


def test_generated_requests_never_cause_server_errors(running_service, oidc_issuer):
    name, url = running_service
    schema = schemathesis.openapi.from_dict(with_bodies(httpx.get(f"{url}/openapi.json").json(), name))
    token = oidc_issuer.token(audience=name, roles=ROLES, scopes=SCOPES)
    headers = {"Authorization": f"Bearer {token}", "Information-Mediator-Client": "LA/GOV/LA-DGC/fuzz-test",
               **(messaging_caller(url, token) if name == "messaging" else {})}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case):
            response = case.call(base_url=url, headers=headers, timeout=10)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            exercise()
        except Exception as exc:  # collect every operation's first failure, not just the first operation's
            failures.append(f"{operation.label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")

    assert not failures, "\n".join(failures)


def test_operation_ids_are_unique(running_service):
    """Generated clients and test tools key operations by id: one function serving two methods once shared its id."""
    _, url = running_service
    document = httpx.get(f"{url}/openapi.json").json()
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()
           if isinstance(operation, dict) and "operationId" in operation]
    assert ids and len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
