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
}

# Reviewed: each of these needs no bearer token, and says why.
PUBLIC = {
    "identity": {
        ("GET", "/.well-known/openid-configuration"),  # OIDC discovery
        ("GET", "/.well-known/jwks.json"),  # public keys
        ("GET", "/authorize"),  # the browser's entry to sign-in
        ("POST", "/authorize/login"),  # authenticates with a PIN, bound to the transaction cookie
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
    "registration": {
        ("GET", "/services"),  # the public catalogue of published e-services
        ("GET", "/services/{service_id}"),
        ("GET", "/services/{service_id}/eForms"),
        ("GET", "/eForms/{eform_id}"),
    },
}
# Reviewed: these look up a public resource before checking the token, so an unknown id is a 404 either way.
PUBLIC_LOOKUP_FIRST = {
    "registration": {
        ("POST", "/services/{service_id}/applications"),  # the catalogue is public; GovStack's negative submit scenario
        ("POST", "/services/{service_id}/drafts"),
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

    assert PUBLIC[name] - set(operations(app)) == set()


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
        if (method, path) in PUBLIC[name] | HEALTH:
            continue
        for label, token in bad_tokens.items():
            headers = dict(HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}))
            response = httpx.request(method, url + concrete(path), headers=headers,
                                     json={} if method in {"POST", "PUT", "PATCH"} else None)
            allowed = {401, 404} if (method, path) in PUBLIC_LOOKUP_FIRST.get(name, set()) else {401}
            if response.status_code not in allowed:
                failures.append(f"{method} {path} with {label}: {response.status_code}")

    assert not failures, "\n".join(failures)


def test_public_operations_never_fail_with_5xx(service):
    name, app, url = service
    for method, path in sorted(PUBLIC[name] | HEALTH):
        response = httpx.request(method, url + concrete(path), headers=HEADERS,
                                 json={} if method in {"POST", "PUT", "PATCH"} else None)
        assert response.status_code < 500, f"{method} {path}: {response.status_code}"
