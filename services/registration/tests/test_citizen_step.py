"""The require_signed_in_citizen step: only a person's token from a citizen issuer, never a system's or a staff member's."""
import pytest

from kernel.testing import serve
from registration.app import create_app
from .api_client import Api, enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def service(api):
    document = enterprise_document()  # carries require_signed_in_citizen
    return {"id": api.publish(document)["id"], "document": document}


@pytest.fixture(scope="module")
def identity_only(settings, oidc_issuer):
    """The same registration, trusting the test issuer for staff but taking citizens only from another issuer."""
    strict = settings.model_copy(update={"citizen_issuers": ["https://identity.example.la"], "fixtures": ""})
    with serve(create_app(strict)) as url:
        yield Api(url, oidc_issuer)


def refused(api, service, headers) -> dict:
    body = api.submit(service["id"], headers, enterprise_data(), expect=403).json()
    assert body["code"] == "citizen_required" and body["localizedMessage"] != body["message"]
    return body


def test_a_citizen_token_is_accepted(api, service):
    file = api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()

    assert file["status"]["code"] == "PENDING"


def test_a_service_token_is_refused(api, service):
    refused(api, service, api.token(sub="some-bb", client_id="some-bb"))


def test_a_keycloak_service_account_is_refused(api, service):
    refused(api, service, api.token(sub=unique("sa"), client_id="some-bb", preferred_username="service-account-some-bb"))


@pytest.mark.parametrize("role", ["operator", "designer", "auditor", "admin"])
def test_a_staff_token_is_refused(api, service, role):
    refused(api, service, api.token(sub=unique("staff"), roles=[role]))


def test_an_operator_of_the_service_is_refused(api, service):
    refused(api, service, api.token(sub=unique("staff"), roles=service["document"]["roles"][0]["operator_roles"]))


def test_a_token_from_an_issuer_that_is_not_a_citizen_issuer_is_refused(api, service, identity_only):
    refused(identity_only, service, identity_only.token(sub=unique("citizen")))


def test_a_service_without_the_step_takes_any_signed_in_caller(api):
    document = enterprise_document()
    document["steps"] = [s for s in document["steps"] if s["type"] != "require_signed_in_citizen"]
    service_id = api.publish(document)["id"]

    file = api.submit(service_id, api.token(sub="agency-system", client_id="agency-system"), enterprise_data()).json()

    assert file["status"]["code"] == "PENDING"
