"""IMconf documents: an exported configuration imports back unchanged, rights may name their client member as the spec
does, and a bad document is a 400 that changes nothing.

A gateway of its own with the conformance data: replacing the shared one's configuration would disturb other modules.
"""
import uuid

import httpx
import pytest
import yaml

from gateway.app import create_app
from kernel.testing import serve


@pytest.fixture(scope="module")
def gateway(settings, infrastructure):
    own = settings.model_copy(update={"database_url": infrastructure.new_database("gateway_documents"), "fixtures": "conformance"})
    with serve(create_app(own)) as url:
        yield url


def get_config(gateway: str, headers: dict) -> dict:
    response = httpx.get(f"{gateway}/api/v1/config", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def send(gateway: str, method: str, document, headers: dict, *, as_yaml: bool = False) -> httpx.Response:
    if as_yaml:
        return httpx.request(method, f"{gateway}/api/v1/config", content=yaml.safe_dump(document).encode(),
                             headers={**headers, "Content-Type": "text/yaml"})
    return httpx.request(method, f"{gateway}/api/v1/config", json=document, headers=headers)


@pytest.mark.parametrize("method, as_yaml", [("PUT", False), ("PATCH", False), ("PUT", True)])
def test_an_exported_configuration_imports_back_unchanged(gateway, admin_headers, method, as_yaml):
    exported = get_config(gateway, admin_headers)
    client_rights = [r["member"] for m in exported["members"] for a in m["applications"] for s in a["services"] for r in s["rights"]
                     if r["application"] == "digitalregistries"]
    assert len(client_rights) == 4 and set(client_rights) == {"eGovStack/GOV/90000009"}  # rights across instances

    response = send(gateway, method, exported, admin_headers, as_yaml=as_yaml)

    assert response.status_code == 201, response.text
    assert get_config(gateway, admin_headers) == exported


def test_a_right_may_name_its_client_member_by_name_as_in_the_spec(gateway, admin_headers):
    suffix = uuid.uuid4().hex[:8]
    name, code = f"Local Municipality {suffix}", int(suffix[:6], 16)  # a number, as in the spec's sample (`code: 7003`)
    document = {"domain": "sample.sandbox.govstack.global", "instance": "LA", "members": [
        {"name": name, "class": "GOV", "code": f"LM{suffix}", "applications": [{"id": "RegistrationPortal"}]},
        {"name": "Ministry of Interior", "class": "GOV", "code": code, "applications": [
            {"id": "CitizensRegistry", "services": [
                {"id": "registration", "specUrl": "https://example.org/registration.json", "serviceUrl": "http://registry.internal/api",
                 "rights": [{"member": name, "application": "RegistrationPortal"}]}]}]}]}

    response = send(gateway, "PATCH", document, admin_headers)

    assert response.status_code == 201, response.text
    [provider] = [m for m in get_config(gateway, admin_headers)["members"] if m["code"] == str(code)]
    assert provider["applications"][0]["services"][0]["rights"] == [{"member": f"LA/GOV/LM{suffix}", "application": "RegistrationPortal"}]


def test_a_member_name_two_members_share_is_refused_and_nothing_is_stored(gateway, admin_headers):
    suffix = uuid.uuid4().hex[:8]
    before = get_config(gateway, admin_headers)
    document = {"members": [
        {"name": "Twin", "class": "GOV", "code": f"T1{suffix}", "applications": [{"id": "app"}]},
        {"name": "Twin", "class": "COM", "code": f"T2{suffix}", "applications": [{"id": "app", "services": [
            {"id": "svc", "serviceUrl": "http://twin.internal/", "rights": [{"member": "Twin", "application": "app"}]}]}]}]}

    response = send(gateway, "PATCH", document, admin_headers)

    assert response.status_code == 400
    assert response.json()["type"] == "invalid_request" and "CLASS/CODE" in response.json()["message"]
    assert get_config(gateway, admin_headers) == before  # the members before the bad right were rolled back with it


@pytest.mark.parametrize("document", [
    {"instance": ["x"], "members": [{"class": "GOV", "code": "X2"}]},
    {"members": [{"class": "GOV", "code": "X2", "applications": [{"id": "a", "clientId": {"x": 1}}]}]},
    {"members": [{"class": "GOV", "code": "X2", "applications": [{"id": "a", "room": "sometimes"}]}]},
    {"members": [{"class": "GOV", "code": "X2", "applications": [{"id": "a", "services": [
        {"id": "s", "serviceUrl": "http://x.internal/", "enabled": "maybe"}]}]}]},
    {"members": [{"class": "GOV", "code": "X2", "applications": [{"id": "a", "services": [
        {"id": "s", "serviceUrl": "http://x.internal/", "rights": [{"member": ["GOV/X2"], "application": "a"}]}]}]}]},
    {"members": [{"class": "GOV", "code": "X2", "applications": "a"}]},
    {"members": [{"class": "GOV", "code": "X/2"}]},
    {"members": [{"class": "GOV", "code": "X2", "clientID": "misspelt"}]},
    {"members": {"class": "GOV"}},
    ["not", "an", "object"],
], ids=["instance", "clientId", "room", "enabled", "right", "applications", "code", "unknown field", "members", "list"])
def test_a_wrongly_typed_document_is_a_400_and_changes_nothing(gateway, admin_headers, document):
    before = get_config(gateway, admin_headers)

    responses = [send(gateway, method, document, admin_headers) for method in ("POST", "PATCH", "PUT")]

    assert [r.status_code for r in responses] == [400, 400, 400], [r.text for r in responses]
    assert all(r.json()["type"] == "invalid_request" and r.json()["errors"] for r in responses)
    assert get_config(gateway, admin_headers) == before
