"""The applicant's notification contact, for building blocks holding a service token with scope notification.read."""
import pytest

from registration import design
from .api_client import IM, cash_transfer_document, enterprise_data, enterprise_document, unique


def service_token(api, scopes=("notification.read",)) -> dict:
    client = unique("messaging-bb")
    return api.token(sub=client, client_id=client, scopes=scopes)


@pytest.fixture(scope="module")
def submitted(api):
    """A published copy of the demo enterprise service and one application to it, in English, with both contacts."""
    service = api.publish(enterprise_document())
    applicant = api.token(sub=unique("citizen"))
    data = enterprise_data(owner_email="owner@namsai.example.la", owner_phone="+856 20 5555 1234")
    file = api.submit(service["id"], applicant, data, language="en").json()
    return service, applicant, file["fileId"]


def contact_path(file_id: str) -> str:
    return f"/applications/{file_id}/notification-contact"


def test_service_token_gets_language_and_marked_contacts(api, submitted):
    _, _, file_id = submitted

    body = api.call("GET", contact_path(file_id), expect=200, headers=service_token(api)).json()

    assert body == {"language": "en", "email": "owner@namsai.example.la", "phone": "+856 20 5555 1234",
                    "applicationNumber": file_id, "serviceName": "Enterprise registration"}


def test_contacts_left_empty_by_the_applicant_are_omitted(api, submitted):
    service, applicant, _ = submitted
    data = {k: v for k, v in enterprise_data().items() if k != "owner_phone"}
    file_id = api.submit(service["id"], applicant, data, language="lo").json()["fileId"]

    body = api.call("GET", contact_path(file_id), expect=200, headers=service_token(api)).json()

    assert body["language"] == "lo" and "email" not in body and "phone" not in body


def test_service_without_contact_fields_gives_only_the_language(api):
    document = enterprise_document()
    del document["contact"]
    service = api.publish(document)
    file_id = api.submit(service["id"], api.token(), enterprise_data(owner_email="x@example.la")).json()["fileId"]

    body = api.call("GET", contact_path(file_id), expect=200, headers=service_token(api)).json()

    assert "email" not in body and "phone" not in body


def test_cash_transfer_applicants_are_reachable_too(api):
    service_id = api.publish(cash_transfer_document())["id"]
    file_id = api.submit_household(service_id, api.token(sub=unique("citizen")), phone="+856 20 7777 1234",
                               email="noy@example.la").json()["fileId"]

    body = api.call("GET", contact_path(file_id), expect=200, headers=service_token(api)).json()

    assert (body["phone"], body["email"]) == ("+856 20 7777 1234", "noy@example.la")


def test_citizen_token_is_refused_even_with_the_scope(api, submitted):
    _, _, file_id = submitted

    api.call("GET", contact_path(file_id), expect=403, headers=api.token(sub=unique("citizen"), client_id="govstack-portal",
                                                                          scopes=["notification.read"]))


def test_service_token_without_the_scope_is_refused(api, submitted):
    _, _, file_id = submitted

    api.call("GET", contact_path(file_id), expect=403, headers=service_token(api, scopes=("registry.read",)))


def test_missing_token_is_unauthorized(api, submitted):
    api.call("GET", contact_path(submitted[2]), expect=401)


def test_unknown_file_is_not_found(api):
    body = api.call("GET", contact_path(unique("nofile")), expect=404, headers={**service_token(api), **IM}).json()

    assert "owner@" not in str(body)


def test_contact_must_name_a_form_field():
    document = enterprise_document(contact={"email": "no_such_field", "fax": "owner_phone"})

    problems = {p.field: p.reason for p in design.validate_service(document)}

    assert set(problems) == {"contact.email", "contact.fax"}


def test_contact_must_be_an_object():
    problems = {p.field for p in design.validate_service(enterprise_document(contact=["owner_email"]))}

    assert problems == {"contact"}
