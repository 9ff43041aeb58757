"""GovStack directory services as the IM compliance suite calls them (conformance fixture set loaded)."""
import json

import httpx
import jsonschema
import pytest

# The compliance suite's response schema (helpers.js): strict, additionalProperties false at every level.
_ITEM = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "objectType": {"type": "object", "additionalProperties": False, "properties": {"object_type": {"type": "string", "enum": [
            "MEMBER", "SUBSYSTEM", "SERVER", "GLOBALGROUP", "SECURITYCATEGORY", "SERVICE", "CENTRALSERVICE", "LOCALGROUP"]}}},
        "serviceType": {"type": "string"}, "GovStackInstance": {"type": "string"}, "memberClass": {"type": "string"},
        "memberCode": {"type": "string"}, "applicationCode": {"type": "string"}, "serviceCode": {"type": "string"},
        "serviceVersion": {"type": "string"},
        "endpointList": {"type": "object", "additionalProperties": False, "properties": {"member": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "properties": {"method": {"type": "string"}, "path": {"type": "string"}}}}}},
    },
}
LIST_SCHEMA = {"type": "object", "required": ["member"], "additionalProperties": False,
               "properties": {"member": {"type": "array", "items": _ITEM}}}
CALLER = {"Information-Mediator-Client": "eGovStack/GOV/90000009/digitalregistries"}
PROVIDERS = [("identifier", "identifier", "alp4aNum3r1c", "alp4aNum3r1c"), ("a11a11a11a", "asd2211a", "12as12", "m3mb3rc0d3"),
             ("a552example", "zzz321a", "m3mb3rc0d3", "aa15"), ("valid1dentifi3r", "rand0mid3nt", "str1ng", "azxcv55")]


def test_list_clients_lists_members_and_applications(base_url):
    response = httpx.get(f"{base_url}/listClients", params={"serviceId": "serviceId1", "instanceId": "identifier"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    jsonschema.validate(response.json(), LIST_SCHEMA)
    items = response.json()["member"]
    assert {"objectType": {"object_type": "SUBSYSTEM"}, "GovStackInstance": "identifier", "memberClass": "identifier",
            "memberCode": "alp4aNum3r1c", "applicationCode": "alp4aNum3r1c"} in items


def test_list_clients_also_answers_under_r1(base_url):
    response = httpx.get(f"{base_url}/r1/listClients")

    assert response.status_code == 200
    assert any(item["memberCode"] == "LA-DGC" for item in response.json()["member"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_list_methods_tolerates_the_suites_junk_header_and_query(base_url, provider):
    url = f"{base_url}/{'/'.join(provider)}/listMethods?serviceId=serviceId?serviceId=serviceId"

    response = httpx.get(url, headers={"X-GovStack-Client": "X-GovStack-Client"})

    assert response.status_code == 200
    jsonschema.validate(response.json(), LIST_SCHEMA)
    [service] = response.json()["member"]
    assert service["serviceCode"] == "alp4aNum3r1c"
    assert {"method": "GET", "path": "/items"} in service["endpointList"]["member"]


def test_allowed_methods_lists_what_a_proven_client_may_call(base_url, oidc_issuer):
    token = oidc_issuer.token(audience="gateway", client_id="digitalregistries")

    response = httpx.get(f"{base_url}/identifier/identifier/alp4aNum3r1c/alp4aNum3r1c/allowedMethods",
                         headers={**CALLER, "Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    jsonschema.validate(response.json(), LIST_SCHEMA)
    assert [s["serviceCode"] for s in response.json()["member"]] == ["alp4aNum3r1c"]


def test_allowed_methods_for_an_unproven_header_is_an_empty_list(base_url):
    response = httpx.get(f'{base_url}/"identifier"/"identifier"/"alp4aNum3r1c"/"alp4aNum3r1c"/allowedMethods?"serviceId1"="serviceId1"',
                         headers=CALLER)
    plain = httpx.get(f"{base_url}/identifier/identifier/alp4aNum3r1c/alp4aNum3r1c/allowedMethods", headers=CALLER)

    assert response.status_code == 200 and response.json() == {"member": []}
    assert plain.status_code == 200 and plain.json() == {"member": []}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_get_openapi_returns_the_document_as_a_json_string(base_url, provider):
    response = httpx.get(f"{base_url}/{'/'.join(provider)}/getOpenAPI", params={"serviceCode": "alp4aNum3r1c"}, headers=CALLER)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(response.json())["openapi"].startswith("3.")


@pytest.mark.parametrize("path", ["1nval1d/identifier/alp4aNum3r1c/alp4aNum3r1c", "identifier/1nval1d/alp4aNum3r1c/alp4aNum3r1c",
                                  "identifier/identifier/_invalid/alp4aNum3r1c", "identifier/identifier/str1ng/_invalid"])
def test_get_openapi_refuses_invalid_identifiers_with_a_json_string(base_url, path):
    response = httpx.get(f"{base_url}/{path}/getOpenAPI", params={"serviceCode": "alp4aNum3r1c"}, headers=CALLER)

    assert response.status_code == 400
    assert isinstance(response.json(), str)


@pytest.mark.parametrize("params", [{"serviceCode": "_invalid"}, {"serviceCode": ""}, {}])
def test_get_openapi_needs_a_valid_service_code(base_url, params):
    response = httpx.get(f"{base_url}/identifier/identifier/alp4aNum3r1c/alp4aNum3r1c/getOpenAPI", params=params, headers=CALLER)

    assert response.status_code == 400
    assert isinstance(response.json(), str)


def test_directory_page_shows_the_building_blocks(base_url):
    response = httpx.get(f"{base_url}/directory")

    assert response.status_code == 200
    assert "consent-bb" in response.text and "Service directory" in response.text


def test_building_blocks_methods_come_from_their_published_openapi(base_url):
    response = httpx.get(f"{base_url}/LA/GOV/LA-DGC/messaging-bb/listMethods")

    [service] = response.json()["member"]
    assert service["serviceCode"] == "messaging"
    assert sorted(e["method"] for e in service["endpointList"]["member"]) == ["GET", "POST"]
