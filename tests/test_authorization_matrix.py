"""Every operation of every service refuses a missing, expired, wrong-audience or foreign-issuer token.

Generated from each app's OpenAPI document; the routes that need no bearer token are an explicit, reviewed list.
"""
import importlib
import re

import httpx
import pytest

from kernel.testing import serve

SERVICES = {
    "identity": "IdentitySettings",
    "registration": "RegistrationSettings",
    "consent": "ConsentSettings",
    "messaging": "MessagingSettings",
    "gateway": "GatewaySettings",
}

# Reviewed: each of these needs no bearer token, and says why.
PUBLIC = {
    "identity": {
        ("GET", "/.well-known/openid-configuration"),  # OIDC discovery
        ("GET", "/.well-known/jwks.json"),  # public keys
        ("GET", "/authorize"),  # the browser's entry to sign-in
        ("POST", "/authorize/login"),  # authenticates with a PIN, bound to the transaction cookie
        ("POST", "/authorize/staff-login"),  # staff username + password, bound to the transaction cookie
        ("GET", "/authorize/consent"),  # bound to the signed-in transaction cookie
        ("POST", "/authorize/consent"),
        ("POST", "/oauth/token"),  # clients authenticate with private_key_jwt, not a bearer token
        ("POST", "/staff/token"),  # staff sign-in
        ("POST", "/authorize/otp/send"),  # OTP sign-in, bound to the transaction cookie
        ("POST", "/authorize/otp/verify"),
        # Linked (wallet) authorization as the spec defines it: the browser's calls are bound to the XSRF cookie of
        # its transaction; the wallet's calls are bound to a single-use link code and authenticate the person.
        ("POST", "/linked-authorization/link-code"),
        ("POST", "/linked-authorization/link-status"),
        ("POST", "/linked-authorization/link-auth-code"),
        ("POST", "/linked-authorization/link-transaction"),
        ("POST", "/linked-authorization/authenticate"),
        ("POST", "/linked-authorization/consent"),
        ("POST", "/linked-authorization/qr-code"),  # the login page's link-code with its QR image, same XSRF binding
        ("POST", "/linked-authorization/send-otp"),  # the wallet's OTP for a linked transaction it redeemed a link code for
    },
    "consent": {
        ("GET", "/service/policy/{policyId}/"),  # citizens must see what they agree to
        ("GET", "/service/data-agreement/{dataAgreementId}/"),
        ("GET", "/service/verification/data-agreements/"),  # published agreements only
        ("GET", "/config/policy/{policyId}/"),  # anonymous callers see only published versions
        ("GET", "/config/policies/"),
        ("GET", "/config/data-agreement/{dataAgreementId}/"),
        ("GET", "/config/data-agreements/"),
    },
    "gateway": {
        # X-Road metaservices: they describe the directory (who offers which service), never exchange data.
        ("GET", "/listClients"),
        ("GET", "/{instance}/{member_class}/{member_code}/{application}/listMethods"),
        ("GET", "/{instance}/{member_class}/{member_code}/{application}/allowedMethods"),
        ("GET", "/{instance}/{member_class}/{member_code}/{application}/getOpenAPI"),
        ("GET", "/directory"),  # the read-only page showing the same directory
        ("GET", "/api/v1/status"),  # running, instance id and member count
    },
    "registration": {
        ("GET", "/services"),  # the public catalogue of published e-services
        ("GET", "/services/{service_id}"),
        ("GET", "/services/{service_id}/eForms"),
        ("GET", "/eForms/{eform_id}"),
        ("GET", "/certificates/keys"),  # the public key that checks registration certificates
        ("GET", "/catalogue/services"),  # published services' labels, document slots and fees: design data, no applicant data
        ("GET", "/catalogue/services/{service_id}"),
        # "Allows anyone to see service statistics" (the spec); a named operator's counts need a staff token.
        ("GET", "/data/statistics"),
    },
}
# Reviewed: operations that answer something other than 401 to a bad bearer token, the statuses allowed, and why.
API_KEY_OPERATIONS = {405}  # GovStack Messaging authenticates callers by api_key; its only error answer is 405
EARLY_ANSWERS = {
    "registration": {
        # The catalogue is public, so an unknown service is a 404 either way; GovStack's negative submit scenario.
        ("POST", "/services/{service_id}/applications"): {401, 404},
        ("POST", "/services/{service_id}/drafts"): {401, 404},
    },
    "gateway": {
        # A path this exchange cannot serve (unknown kind or instance) is refused before the token is read.
        ("POST", "/api/v1/registrations/{kind}/{registration_id}/approve"): {400, 401},
        ("POST", "/api/v1/registrations/{kind}/{registration_id}/reject"): {400, 401},
        ("PATCH", "/api/v1/services/{instance}/{member_class}/{member_code}/{application}/{service_code}"): {400, 401},
    },
    "messaging": {
        ("POST", "/send/email/single"): API_KEY_OPERATIONS, ("POST", "/send/email/batch"): API_KEY_OPERATIONS,
        ("GET", "/status/email"): API_KEY_OPERATIONS, ("POST", "/callback/email"): API_KEY_OPERATIONS,
        ("POST", "/send/sms/single"): API_KEY_OPERATIONS, ("POST", "/send/sms/batch"): API_KEY_OPERATIONS,
        ("GET", "/status/sms"): API_KEY_OPERATIONS, ("POST", "/callback/sms"): API_KEY_OPERATIONS,
        ("GET", "/status/email/history"): API_KEY_OPERATIONS, ("GET", "/status/sms/history"): API_KEY_OPERATIONS,
        # Off (404) until an SMS gateway token is configured; then that shared token, not an OIDC one, is required.
        ("POST", "/callback/sms/delivery-report"): {401, 404},
    },
}
HEALTH = {("GET", "/health/live"), ("GET", "/health/ready")}
HEADERS = {"Information-Mediator-Client": "LA/GOV/LA-DGC/matrix-test"}


def operations(app) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(request, infrastructure, oidc_issuer):
    name = request.param
    settings_cls = getattr(importlib.import_module(f"{name}.settings"), SERVICES[name])
    settings = settings_cls(database_url=infrastructure.new_database(f"matrix_{name}"),
                            amqp_url=infrastructure.new_vhost(f"matrix_{name}"), oidc_issuers=[oidc_issuer.url])
    app = importlib.import_module(f"{name}.app").create_app(settings)
    with serve(app) as url:
        yield name, app, url


def test_public_list_names_only_real_operations(service):
    name, app, _ = service

    assert PUBLIC.get(name, set()) - set(operations(app)) == set()


def test_every_protected_operation_refuses_bad_tokens(service, oidc_issuer):
    name, app, url = service
    bad_tokens = {
        "no token": None,
        "expired": oidc_issuer.token(audience=name, roles=["admin"], scopes=["add_oidc_client"], expires_in=-300),
        "wrong audience": oidc_issuer.token(audience="some-other-service", roles=["admin"]),
        "foreign issuer": oidc_issuer.token(audience=name, roles=["admin"], issuer="https://issuer.example"),
        "not a JWT": "not-a-token",
    }
    failures = []
    for method, path in operations(app):
        if (method, path) in PUBLIC.get(name, set()) | HEALTH:
            continue
        for label, token in bad_tokens.items():
            headers = dict(HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}))
            response = httpx.request(method, url + concrete(path), headers=headers,
                                     json={} if method in {"POST", "PUT", "PATCH"} else None)
            allowed = EARLY_ANSWERS.get(name, {}).get((method, path), {401})
            if response.status_code not in allowed:
                failures.append(f"{method} {path} with {label}: {response.status_code}")

    assert not failures, "\n".join(failures)


def test_public_operations_never_fail_with_5xx(service):
    name, app, url = service
    for method, path in sorted(PUBLIC.get(name, set()) | HEALTH):
        response = httpx.request(method, url + concrete(path), headers=HEADERS,
                                 json={} if method in {"POST", "PUT", "PATCH"} else None)
        assert response.status_code < 500, f"{method} {path}: {response.status_code}"
