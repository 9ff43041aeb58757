"""Hostile input to every operation of every service is the caller's error (4xx in the service's error shape), never a 5xx.

Generated from each app's OpenAPI document: deeply nested JSON, JSON that is not an object, strings with a lone surrogate
or a NUL in each string field of an example body and in each query parameter, and bearer tokens whose payload is JSON
but not a claims set. Requests carry a token with every role (and messaging's api_key) so they reach past auth.
"""
import base64
import copy
import importlib
import json
import re
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jws

from kernel.testing import serve

SERVICES = {"identity": "IdentitySettings", "registration": "RegistrationSettings", "consent": "ConsentSettings",
            "messaging": "MessagingSettings", "gateway": "GatewaySettings"}
ROLES = ["admin", "designer", "operator", "auditor", "verifier", "application"]
SCOPES = ["add_oidc_client", "update_oidc_client", "registry.read", "statistics.read"]
ID = "00000000-0000-4000-8000-000000000000"
JSON = {"Content-Type": "application/json"}

DEEP = b"[" * 20_000  # json.loads raises RecursionError long before this
MIDDLING = b"[" * 500 + b"]" * 500  # parses, but code that recurses over it afterwards may not cope
NOT_OBJECTS = [b"[1]", b'"x"', b"null", b"1"]
BAD_TEXT = {"lone surrogate": "x\ud800", "NUL": "x\x00"}  # json.dumps escapes both as \ud800 and \u0000
BAD_QUERY = {"lone surrogate": "x%ED%A0%80", "NUL": "x%00"}  # a URL carries bytes: a surrogate only as invalid UTF-8
SHALLOWER = "[" * 3_000  # still too deep for json.loads, but fits in a URL or a header
TOKEN_PAYLOADS = {"array": b"[1]", "string": b'"x"', "null": b"null", "deep": SHALLOWER.encode()}

# Operations that read their JSON body themselves document no requestBody: valid example bodies for them.
EMAIL = {"recipientInfo": {"email": "hostile@example.la", "phoneNumber": "+8562055512345", "name": "Hostile"},
         "emailContent": {"title": "Hostile", "content": "Hostile input test."}, "senderInfo": {"name": "Sender"}}
SMS = {"recipientInfo": {"phoneNumber": "+8562055512345", "name": "Hostile"}, "smsContent": {"content": "Hostile input test."}}
REPLY = {"meta": {"from": "hostile@example.la"}, "content": base64.b64encode(b"reply").decode()}
IMCONF = {"instance": "LA", "members": [{"class": "GOV", "code": "HOSTILE", "name": "Hostile", "applications": [
    {"id": "app", "services": [{"id": "svc", "serviceUrl": "http://127.0.0.1:9/", "rights": [{"member": "GOV/HOSTILE", "application": "app"}]}]}]}]}
SERVICE_DOCUMENT = {"code": "hostile", "name": {"en": "Hostile", "lo": "Hostile"}, "eForms": [{"id": "f", "schema": {"type": "object"}}]}
HAND_BODIES = {
    "messaging": {("POST", "/send/email/single"): EMAIL, ("POST", "/send/email/batch"): EMAIL, ("POST", "/send/sms/single"): SMS,
                  ("POST", "/send/sms/batch"): SMS, ("POST", "/callback/email"): REPLY, ("POST", "/callback/sms"): REPLY},
    "gateway": {("POST", "/api/v1/config"): IMCONF, ("PUT", "/api/v1/config"): IMCONF, ("PATCH", "/api/v1/config"): IMCONF},
    "registration": {("POST", "/designer/services"): SERVICE_DOCUMENT, ("POST", "/designer/services/validate"): SERVICE_DOCUMENT,
                     ("POST", "/designer/services/import"): SERVICE_DOCUMENT,
                     ("POST", "/services/{service_id}/applications"): {"formData": {"eFormId": ID, "data": {"name": "x"}}},
                     ("POST", "/applications/{file_id}/messages"): {"text": "x"}},
    "identity": {("POST", "/oauth/token"): {"grant_type": "client_credentials", "client_id": "x", "client_assertion": "x.y.z",
                                            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}},
}
# Operations that also read YAML, and YAML that must not reach past their parser.
YAML_OPERATIONS = {
    "registration": [("POST", "/designer/services"), ("POST", "/designer/services/validate"), ("POST", "/designer/services/import"),
                     ("PUT", "/designer/services/{service_id}")],
    "gateway": [("POST", "/api/v1/config"), ("PUT", "/api/v1/config"), ("PATCH", "/api/v1/config")],
}
LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 6))  # aliases: 100,000 strings once expanded
HOSTILE_YAML = {"aliases": LAUGHS, "20,000 nested [": "a: " + "[" * 20_000, "NUL escape": 'code: "x\\0"',
                "lone surrogate escape": 'code: "x\\ud800"', "not an object": "[1]"}
# Query parameters that carry JSON, read by hand (no documented parameter says so).
JSON_QUERIES = {"identity": {("GET", "/authorize"): "claims"}}
# Reviewed: answers in another documented shape than the service's error shape, and why.
OTHER_SHAPES = {
    "identity": {("POST", "/oauth/token"),  # OAuth 2.0's {error, error_description} (RFC 6749 5.2)
                 ("PUT", "/enrollment"), ("GET", "/enrollment")},  # enrollment.yaml's own envelope
    "gateway": {("GET", "/{instance}/{member_class}/{member_code}/{application}/getOpenAPI")},  # a bare JSON string (X-Road)
}


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(request, infrastructure, oidc_issuer):
    name = request.param
    settings_cls = getattr(importlib.import_module(f"{name}.settings"), SERVICES[name])
    settings = settings_cls(database_url=infrastructure.new_database(f"hostile_{name}"),
                            amqp_url=infrastructure.new_vhost(f"hostile_{name}"), oidc_issuers=[oidc_issuer.url])
    app = importlib.import_module(f"{name}.app").create_app(settings)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        token = oidc_issuer.token(audience=name, roles=ROLES, scopes=SCOPES)
        headers = {"Authorization": f"Bearer {token}", "Information-Mediator-Client": "LA/GOV/LA-DGC/hostile-test"}
        if name == "messaging":
            headers |= messaging_caller(client, headers)
        yield Service(name, app.openapi(), client, headers)


class Service:
    def __init__(self, name: str, document: dict, client: httpx.Client, headers: dict):
        self.name, self.document, self.client, self.headers = name, document, client, headers
        shape = importlib.import_module(f"{name}.errors").error_shape
        self.error_keys = set(shape(400, "code", "message", [], "trace")) - {"details", "errors"}
        self.failures: list[str] = []

    def operations(self):
        for path, operations in self.document["paths"].items():
            for method, operation in operations.items():
                if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"} and not path.startswith("/health"):
                    yield method.upper(), path, operation

    def send(self, label: str, method: str, path: str, *, content: bytes | None = None, params: dict | None = None,
             headers: dict | None = None, query: str = "", path_value: str = ID) -> None:
        url = re.sub(r"\{[^}]+\}", path_value, path) + (f"?{query}" if query else "")
        where = f"{method} {path} with {label}"
        try:
            response = self.client.request(method, url, content=content, params=params,
                                           headers={**self.headers, **(JSON if content is not None else {}), **(headers or {})})
        except httpx.TransportError as exc:  # the server dropped the connection instead of answering
            self.failures.append(f"{where}: no answer ({type(exc).__name__})")
            return
        if response.status_code >= 500:
            self.failures.append(f"{where}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and (method, path) not in OTHER_SHAPES.get(self.name, set()) \
                and response.headers.get("content-type", "").startswith("application/json"):
            missing = self.error_keys - set(response.json())
            if missing:
                self.failures.append(f"{where}: {response.status_code} without {sorted(missing)} of the error shape")


def messaging_caller(client: httpx.Client, headers: dict) -> dict:
    """An api_key made through the admin API and one real request, so that bodies reach the send and reply parsers."""
    response = client.post("/admin/api-keys", json={"name": "hostile"}, headers=headers)
    assert response.status_code == 201, response.text
    key = response.json()["apiKey"]
    response = client.post("/send/email/single", headers={"api_key": key}, json=EMAIL)
    assert response.status_code == 200, response.text
    return {"api_key": key, "requestUID": response.json()["requestUID"]}


def example(schema: dict, components: dict, depth: int = 0):
    """A plausible value for a JSON schema: every property filled, so that each string can be made hostile."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            options = [option for option in schema[combined] if option.get("type") != "null"]
            return example(options[0], components, depth) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        return {name: example(prop, components, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), components, depth + 1)] if depth <= 6 else []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "string":
        return {"email": "hostile@example.la", "uuid": ID, "date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01",
                "uri": "https://example.la/x"}.get(schema.get("format"), "x")
    return "x"


def string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*path, index))


def replaced(value, path, new):
    value = copy.deepcopy(value)
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return value


def example_body(service: Service, method: str, path: str, operation: dict):
    if (method, path) in HAND_BODIES.get(service.name, {}):
        return HAND_BODIES[service.name][(method, path)]
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return example(schema, service.document.get("components", {}).get("schemas", {})) if schema else None


def unsigned(payload: bytes) -> str:
    encode = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return f"{encode(json.dumps({'alg': 'RS256', 'kid': 'x'}).encode())}.{encode(payload)}.{encode(b'signature')}"


def test_deep_and_non_object_json_bodies_are_refused(service):
    service.failures.clear()
    for method, path, operation in service.operations():
        if method in {"POST", "PUT", "PATCH"}:
            service.send("20,000 nested [", method, path, content=DEEP)
            for body in NOT_OBJECTS:
                service.send(f"body {body.decode()}", method, path, content=body)
            body = example_body(service, method, path, operation)
            if isinstance(body, dict) and body:
                for label, deep in {"20,000": DEEP, "500": MIDDLING}.items():
                    service.send(f"{label} nested [ as an extra value in a valid body", method, path,
                                 content=json.dumps(body)[:-1].encode() + b', "deep": ' + deep + b"}")
                    for field in string_paths(body):  # in place of each string
                        service.send(f"{label} nested [ in {'.'.join(map(str, field))}", method, path,
                                     content=json.dumps(replaced(body, field, "@@")).encode().replace(b'"@@"', deep))
        if (method, path) in JSON_QUERIES.get(service.name, {}):
            name = JSON_QUERIES[service.name][(method, path)]
            for value in [SHALLOWER, *[body.decode() for body in NOT_OBJECTS]]:
                service.send(f"{name}={value[:10]}", method, path, params={name: value})

    assert not service.failures, "\n".join(service.failures)


def test_lone_surrogates_and_nul_in_strings_are_refused(service):
    service.failures.clear()
    for method, path, operation in service.operations():
        body = example_body(service, method, path, operation) if method in {"POST", "PUT", "PATCH"} else None
        for label, bad in BAD_TEXT.items():
            for field in string_paths(body) if isinstance(body, dict) else ():
                service.send(f"{label} in {'.'.join(map(str, field))}", method, path, content=json.dumps(replaced(body, field, bad)).encode())
            if isinstance(body, dict):
                service.send(f"{label} in a key", method, path, content=json.dumps({**body, bad: "x"}).encode())
            if "{" in path:
                service.send(f"{label} in the path", method, path, path_value=BAD_QUERY[label])
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    service.send(f"{label} in query {parameter['name']}", method, path, query=f"{parameter['name']}={BAD_QUERY[label]}")
            if (method, path) in JSON_QUERIES.get(service.name, {}):
                name = JSON_QUERIES[service.name][(method, path)]
                service.send(f"{label} in query {name}", method, path, params={name: json.dumps({"userinfo": {bad: None}})})

    assert not service.failures, "\n".join(service.failures)


def test_bearer_tokens_whose_payload_is_not_a_claims_set_are_refused(service, oidc_issuer):
    service.failures.clear()
    key = oidc_issuer.keys[-1]
    tokens = {}
    for label, payload in TOKEN_PAYLOADS.items():
        tokens[f"unsigned {label}"] = unsigned(payload)
        tokens[f"signed {label}"] = jws.serialize_compact({"alg": "RS256", "kid": key.kid}, payload, key)
    for method, path, _ in service.operations():
        for label, token in tokens.items():
            service.send(f"a token with payload {label}", method, path, headers={"Authorization": f"Bearer {token}"},
                         content=b"{}" if method in {"POST", "PUT", "PATCH"} else None)
    if service.name == "identity":  # its token endpoint reads a client assertion's claims before checking it
        for label, token in tokens.items():
            form = {"grant_type": "client_credentials", "client_assertion": token,
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
            service.send(f"a client assertion with payload {label}", "POST", "/oauth/token",
                         content=urlencode(form).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert not service.failures, "\n".join(service.failures)


def test_a_client_assertion_signed_with_a_deeply_nested_payload_is_refused():
    """Only the client's own key can sign it, but then the token endpoint must still answer 400, not 500."""
    from joserfc.jwk import RSAKey

    from identity import client_auth
    from identity.settings import IdentitySettings

    key = RSAKey.generate_key(2048)
    assertion = jws.serialize_compact({"alg": "RS256"}, SHALLOWER.encode(), key)
    with pytest.raises(client_auth.Refused):
        client_auth.check(IdentitySettings(), client_id="client", assertion=assertion,
                          public_key_json=json.dumps(key.as_dict(private=False)))


def test_hostile_yaml_documents_are_refused(service):
    service.failures.clear()
    for method, path in YAML_OPERATIONS.get(service.name, []):
        for label, document in HOSTILE_YAML.items():
            service.send(f"YAML with {label}", method, path, content=document.encode(), headers={"Content-Type": "application/yaml"})

    assert not service.failures, "\n".join(service.failures)


@pytest.mark.parametrize("claims", ["[" * 20_000, "[1]", '"x"', '{"userinfo": {"\\ud800": null}}', '{"userinfo": {"\\u0000": null}}'])
def test_a_hostile_claims_parameter_is_an_invalid_claims_request(claims):
    """/authorize checks its client before it reads `claims`, so the parser is exercised here directly."""
    from identity import claims as claim_rules

    with pytest.raises(claim_rules.InvalidClaimsRequest):
        claim_rules.requested(["openid"], claims, allowed=["name"])
