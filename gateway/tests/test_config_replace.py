"""PUT /api/v1/config replaces the whole configuration (IM spec: "not described parts are deleted"), audited.

A gateway of its own: replacing the configuration of the shared one would remove the other modules' members.
"""
import uuid

import httpx
import pytest

from gateway.app import create_app
from kernel.testing import serve


@pytest.fixture(scope="module")
def own_settings(settings, infrastructure):
    return settings.model_copy(update={"database_url": infrastructure.new_database("gateway_replace"), "fixtures": ""})


@pytest.fixture(scope="module")
def gateway(own_settings):
    with serve(create_app(own_settings)) as url:
        yield url


def config_of(suffix: str, provider_url: str, *, with_notes: bool) -> dict:
    services = [{"id": "records", "serviceUrl": provider_url, "rights": [{"member": f"GOV/MOF{suffix}", "application": "payments"}]}]
    if with_notes:
        services.append({"id": "notes", "serviceUrl": provider_url, "rights": [{"member": f"GOV/MOF{suffix}", "application": "payments"}]})
    return {"members": [
        {"class": "GOV", "code": f"MOH{suffix}", "applications": [{"id": "patients", "services": services}]},
        {"class": "GOV", "code": f"MOF{suffix}", "applications": [{"id": "payments", "clientId": f"payments-{suffix}"}]},
    ]}


def call(gateway: str, suffix: str, service: str, token: str) -> httpx.Response:
    return httpx.get(f"{gateway}/r1/LA/GOV/MOH{suffix}/patients/{service}/x",
                     headers={"Information-Mediator-Client": f"LA/GOV/MOF{suffix}/payments", "Authorization": f"Bearer {token}"})


def test_replacing_the_configuration_removes_what_it_does_not_describe(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    assert httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=True), headers=admin_headers).status_code == 201
    before = [call(gateway, suffix, s, token).status_code for s in ("records", "notes")]

    replaced = httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=False), headers=admin_headers)

    after = [call(gateway, suffix, s, token).status_code for s in ("records", "notes")]
    config = httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json()
    assert replaced.status_code == 201
    assert before == [200, 200]
    assert after == [200, 404]
    # The default building blocks and the portal were not in the document either: gone from the configuration.
    assert sorted(m["code"] for m in config["members"]) == sorted([f"MOH{suffix}", f"MOF{suffix}"])
    [provider] = [m for m in config["members"] if m["code"] == f"MOH{suffix}"]
    assert [s["id"] for s in provider["applications"][0]["services"]] == ["records"]
    entry = httpx.get(f"{gateway}/api/v1/audit", params={"limit": 1000}, headers=admin_headers).json()[-1]
    assert (entry["action"], entry["outcome"]) == ("replace config", "success")
    assert entry["details"]["removed"]["services"] == 1  # notes (the first PUT removed the building blocks already)


def test_a_removed_entry_comes_back_when_described_again(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=False), headers=admin_headers)

    restored = httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=True), headers=admin_headers)

    assert restored.status_code == 201
    assert call(gateway, suffix, "notes", token).status_code == 200


def test_a_right_left_out_of_the_document_is_revoked(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=False), headers=admin_headers)
    without_right = config_of(suffix, provider_url, with_notes=False)
    without_right["members"][0]["applications"][0]["services"][0]["rights"] = []

    httpx.put(f"{gateway}/api/v1/config", json=without_right, headers=admin_headers)

    assert call(gateway, suffix, "records", token).status_code == 403


def test_a_bad_document_changes_nothing_and_the_refusal_is_audited(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=True), headers=admin_headers)
    broken = {"members": [{"class": "GOV", "code": "ONLY", "applications": [{"id": "a", "services": [{"id": "no-url"}]}]}]}

    response = httpx.put(f"{gateway}/api/v1/config", json=broken, headers=admin_headers)

    assert response.status_code == 400
    assert call(gateway, suffix, "notes", token).status_code == 200
    entry = httpx.get(f"{gateway}/api/v1/audit", params={"limit": 1000}, headers=admin_headers).json()[-1]
    assert (entry["action"], entry["outcome"]) == ("PUT /api/v1/config", "failure")


# A client certificate's SHA-256 fingerprint, as an application's tlsClientCert binding is written.
FINGERPRINT = ":".join(["AB"] * 32)


def bound_config(suffix: str, provider_url: str, *, bound: bool) -> dict:
    """payments calls records; archive is bound to a client certificate. Without bound, neither binding is in the document."""
    document = config_of(suffix, provider_url, with_notes=False)
    payments = document["members"][1]["applications"][0]
    archive = {"id": "archive", "tlsClientCert": FINGERPRINT}
    if not bound:
        del payments["clientId"], archive["tlsClientCert"]
    document["members"][1]["applications"].append(archive)
    return document


def applications_of(config: dict, code: str) -> dict[str, dict]:
    [member] = [m for m in config["members"] if m["code"] == code]
    return {a["id"]: a for a in member["applications"]}


def test_a_binding_left_out_of_the_document_is_removed(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    httpx.put(f"{gateway}/api/v1/config", json=bound_config(suffix, provider_url, bound=True), headers=admin_headers)
    before = call(gateway, suffix, "records", token)

    replaced = httpx.put(f"{gateway}/api/v1/config", json=bound_config(suffix, provider_url, bound=False), headers=admin_headers)

    after = call(gateway, suffix, "records", token)
    applications = applications_of(httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json(), f"MOF{suffix}")
    assert replaced.status_code == 201, replaced.text
    assert before.status_code == 200
    # The token of the unbound OAuth client no longer proves the application.
    assert (after.status_code, after.json()["type"]) == (403, "Client.AuthenticationFailed")
    assert (applications["payments"]["clientId"], applications["archive"]["tlsClientCert"]) == (None, None)
    entry = httpx.get(f"{gateway}/api/v1/audit", params={"limit": 1000}, headers=admin_headers).json()[-1]
    assert (entry["action"], entry["outcome"]) == ("replace config", "success")
    assert sorted(entry["details"]["unbound"]) == [f"LA/GOV/MOF{suffix}/archive", f"LA/GOV/MOF{suffix}/payments"]


def test_a_binding_the_document_carries_is_kept_and_merging_leaves_one_it_omits(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    httpx.put(f"{gateway}/api/v1/config", json=bound_config(suffix, provider_url, bound=True), headers=admin_headers)

    again = httpx.put(f"{gateway}/api/v1/config", json=bound_config(suffix, provider_url, bound=True), headers=admin_headers)
    merged = httpx.patch(f"{gateway}/api/v1/config", json=bound_config(suffix, provider_url, bound=False), headers=admin_headers)

    applications = applications_of(httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json(), f"MOF{suffix}")
    assert (again.status_code, merged.status_code) == (201, 201)
    assert (applications["payments"]["clientId"], applications["archive"]["tlsClientCert"]) == (f"payments-{suffix}", FINGERPRINT)
    assert call(gateway, suffix, "records", token).status_code == 200
    replace_entries = [e for e in httpx.get(f"{gateway}/api/v1/audit", params={"limit": 1000}, headers=admin_headers).json()
                       if e["action"] == "replace config"]
    assert replace_entries[-1]["details"]["unbound"] == []


def test_settings_left_out_of_the_document_go_back_to_their_defaults(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    set_apart = config_of(suffix, provider_url, with_notes=True)
    patients = set_apart["members"][0]["applications"][0]
    patients["connection"], patients["services"][1]["enabled"] = "http", False
    set_apart["members"][1]["applications"].append({"id": "news", "room": True})
    httpx.put(f"{gateway}/api/v1/config", json=set_apart, headers=admin_headers)
    disabled = call(gateway, suffix, "notes", token)

    replaced = httpx.put(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=True) | {
        "members": config_of(suffix, provider_url, with_notes=True)["members"][:1] + [
            {"class": "GOV", "code": f"MOF{suffix}", "applications": [{"id": "payments", "clientId": f"payments-{suffix}"}, {"id": "news"}]}]},
        headers=admin_headers)

    config = httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json()
    provider, client = applications_of(config, f"MOH{suffix}"), applications_of(config, f"MOF{suffix}")
    assert disabled.status_code == 503 and replaced.status_code == 201, replaced.text
    assert provider["patients"]["connection"] == "https" and client["news"]["room"] is False
    assert [s["enabled"] for s in provider["patients"]["services"]] == [True, True]
    assert call(gateway, suffix, "notes", token).status_code == 200
    entry = httpx.get(f"{gateway}/api/v1/audit", params={"limit": 1000}, headers=admin_headers).json()[-1]
    assert sorted(entry["details"]["reset"]) == [f"LA/GOV/MOF{suffix}/news", f"LA/GOV/MOH{suffix}/patients"]
    assert entry["details"]["enabled"] == [f"LA/GOV/MOH{suffix}/patients/notes"]


def test_merging_keeps_the_settings_the_document_leaves_out(gateway, provider_url, admin_headers, oidc_issuer):
    suffix = uuid.uuid4().hex[:8]
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{suffix}", expires_in=600)
    set_apart = config_of(suffix, provider_url, with_notes=True)
    set_apart["members"][0]["applications"][0]["connection"] = "http"
    set_apart["members"][0]["applications"][0]["services"][1]["enabled"] = False
    httpx.put(f"{gateway}/api/v1/config", json=set_apart, headers=admin_headers)

    merged = httpx.patch(f"{gateway}/api/v1/config", json=config_of(suffix, provider_url, with_notes=True), headers=admin_headers)

    provider = applications_of(httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json(), f"MOH{suffix}")
    assert merged.status_code == 201
    assert provider["patients"]["connection"] == "http"
    assert {s["id"]: s["enabled"] for s in provider["patients"]["services"]} == {"notes": False, "records": True}
    assert call(gateway, suffix, "notes", token).status_code == 503


def test_a_restart_does_not_bind_a_default_building_block_again(gateway, own_settings, admin_headers, tmp_path):
    config = httpx.get(f"{gateway}/api/v1/config", headers=admin_headers).json()
    default = {"class": "GOV", "code": "LA-DGC", "applications": [{"id": "identity-bb"}]}

    others = [m for m in config["members"] if m["code"] != "LA-DGC"]

    replaced = httpx.put(f"{gateway}/api/v1/config", json={"members": [*others, default]}, headers=admin_headers)
    with serve(create_app(own_settings.model_copy(update={"data_dir": tmp_path}))) as restarted:
        after_restart = httpx.get(f"{restarted}/api/v1/config", headers=admin_headers).json()

    assert replaced.status_code == 201, replaced.text
    assert applications_of(after_restart, "LA-DGC")["identity-bb"]["clientId"] is None


def test_replacing_needs_the_create_conf_scope(gateway, oidc_issuer):
    writer = oidc_issuer.token(audience="gateway", scopes=["write:conf"])
    creator = oidc_issuer.token(audience="gateway", scopes=["create:conf"])

    refused = httpx.put(f"{gateway}/api/v1/config", json={"members": []}, headers={"Authorization": f"Bearer {writer}"})
    anonymous = httpx.put(f"{gateway}/api/v1/config", json={"members": []})
    # An empty document is a valid replacement; checked last so the other tests' data is gone only at the end.
    allowed = httpx.put(f"{gateway}/api/v1/config", json={"members": []}, headers={"Authorization": f"Bearer {creator}"})

    assert refused.status_code == 403
    assert anonymous.status_code == 401
    assert allowed.status_code == 201
