"""schemathesis against each service's own OpenAPI document: generated requests never produce a 5xx and documented
responses match their schemas. Requests carry a token with every role, so they reach past authentication."""
import importlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from kernel.testing import serve

SERVICES = {"identity": "IdentitySettings", "registration": "RegistrationSettings", "consent": "ConsentSettings"}
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


def test_generated_requests_never_cause_server_errors(running_service, oidc_issuer):
    name, url = running_service
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {oidc_issuer.token(audience=name, roles=ROLES, scopes=SCOPES)}",
               "Information-Mediator-Client": "LA/GOV/LA-DGC/fuzz-test"}
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
