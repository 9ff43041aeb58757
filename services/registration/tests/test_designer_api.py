"""Designer API: draft versions, validation, publishing, export and import as one document."""
import yaml

from .api_client import enterprise_document


def test_a_draft_is_not_in_the_catalogue_until_published(api):
    headers = api.designer()
    created = api.call("POST", "/designer/services", expect=201, headers=headers, json=enterprise_document()).json()

    api.call("GET", f"/services/{created['id']}", expect=404)
    published = api.call("POST", f"/designer/services/{created['id']}/publish", expect=200, headers=headers).json()

    assert (created["version"], created["publishedVersion"]) == (1, None)
    assert (published["version"], published["publishedVersion"]) == (1, 1)
    assert api.call("GET", f"/services/{created['id']}", expect=200).json()[0]["version"] == "1"


def test_editing_makes_a_new_draft_and_keeps_the_published_version(api):
    headers = api.designer()
    document = enterprise_document()
    service_id = api.publish(document)["id"]
    document["name"]["en"] = "Enterprise registration (2026)"

    revised = api.call("PUT", f"/designer/services/{service_id}", expect=200, headers=headers, json=document).json()
    catalogue = api.call("GET", f"/services/{service_id}", expect=200, headers={"Accept-Language": "en"}).json()[0]
    design = api.call("GET", f"/designer/services/{service_id}", expect=200, headers=headers).json()

    assert (revised["version"], revised["publishedVersion"]) == (2, 1)
    assert catalogue["name"] == "Enterprise registration"
    assert [v["version"] for v in design["versions"]] == [1, 2] and design["document"]["name"]["en"] == "Enterprise registration (2026)"


def test_catalogue_speaks_lao_unless_english_is_asked_for(api):
    service_id = api.publish(enterprise_document())["id"]

    lao = api.call("GET", f"/services/{service_id}", expect=200).json()[0]
    english = api.call("GET", f"/services/{service_id}", expect=200, headers={"Accept-Language": "en-GB,en;q=0.9"}).json()[0]

    assert (lao["name"], english["name"]) == ("ການຈົດທະບຽນວິສາຫະກິດ", "Enterprise registration")


def test_invalid_draft_is_saved_but_cannot_be_published(api):
    headers = api.designer()
    document = enterprise_document()
    document["roles"][0]["decisions"]["approve"] = "nobody"

    created = api.call("POST", "/designer/services", expect=201, headers=headers, json=document).json()
    validated = api.call("POST", f"/designer/services/{created['id']}/validate", expect=200, headers=headers).json()
    refused = api.call("POST", f"/designer/services/{created['id']}/publish", expect=400, headers=headers).json()

    assert validated["valid"] is False and [p["field"] for p in validated["problems"]] == ["roles[0].decisions.approve"]
    assert refused["code"] == "invalid_service" and refused["details"][0]["field"] == "roles[0].decisions.approve"
    api.call("GET", f"/services/{created['id']}", expect=404)


def test_export_as_yaml_and_import_again_changes_nothing(api):
    headers = api.designer()
    service_id = api.publish(enterprise_document())["id"]

    exported = api.call("GET", f"/designer/services/{service_id}/export", expect=200, headers=headers, params={"format": "yaml"})
    imported = api.call("POST", "/designer/services/import", expect=200, headers={**headers, "Content-Type": "application/yaml"},
                        content=exported.content, params={"publish": "true"}).json()

    assert exported.headers["content-type"].startswith("application/yaml")
    assert "ການຈົດທະບຽນວິສາຫະກິດ" in exported.text  # Lao is written as text, not escapes
    assert (imported["id"], imported["version"], imported["publishedVersion"]) == (service_id, 1, 1)


def test_import_of_a_changed_document_publishes_a_new_version(api):
    headers = api.designer()
    document = enterprise_document()
    service_id = api.publish(document)["id"]
    document["documents"][1]["max_bytes"] = 2048

    imported = api.call("POST", "/designer/services/import", expect=200, headers=headers, json=document, params={"publish": "true"}).json()

    assert (imported["id"], imported["version"], imported["publishedVersion"]) == (service_id, 2, 2)


def test_invalid_import_with_publish_stores_nothing(api):
    headers = api.designer()
    document = enterprise_document()
    del document["eforms"][0]["fields"]["owner_name"]["label"]["lo"]

    refused = api.call("POST", "/designer/services/import", expect=400, headers=headers, json=document, params={"publish": "true"}).json()

    assert [d["field"] for d in refused["details"]] == ["eforms[0].fields.owner_name.label.lo"]
    assert document["code"] not in [s["code"] for s in api.call("GET", "/designer/services", expect=200, headers=headers).json()]


def test_malformed_documents_get_400(api):
    headers = api.designer()

    not_yaml = api.call("POST", "/designer/services", expect=400, headers={**headers, "Content-Type": "application/yaml"}, content=b"a: [b")
    not_object = api.call("POST", "/designer/services", expect=400, headers=headers, json=[1, 2])
    no_code = api.call("POST", "/designer/services", expect=400, headers=headers, json={"name": {"en": "x", "lo": "x"}})

    assert not_yaml.json()["code"] == "malformed_body" and not_object.json()["code"] == "malformed_body"
    assert [d["field"] for d in no_code.json()["details"]] == ["code"]


def test_duplicate_code_is_a_conflict(api):
    document = enterprise_document()
    api.publish(document)

    api.call("POST", "/designer/services", expect=409, headers=api.designer(), json=document)


def test_code_cannot_change_in_an_edit(api):
    document = enterprise_document()
    service_id = api.publish(document)["id"]

    refused = api.call("PUT", f"/designer/services/{service_id}", expect=400, headers=api.designer(), json={**document, "code": "OTHER"}).json()

    assert refused["details"] == [{"field": "code", "reason": "cannot change once the e-service exists"}]


def test_designer_api_needs_the_designer_role(api):
    api.call("GET", "/designer/services", expect=401)
    api.call("POST", "/designer/services", expect=403, headers=api.token(roles=["citizen"]), json=enterprise_document())
    api.call("GET", "/designer/services/no-such-service", expect=404, headers=api.designer())


def test_yaml_round_trip_keeps_the_document(api):
    headers = api.designer()
    document = enterprise_document()
    service_id = api.publish(document)["id"]

    exported = yaml.safe_load(api.call("GET", f"/designer/services/{service_id}/export", expect=200, headers=headers, params={"format": "yaml"}).text)

    assert exported == {**document, "id": service_id}


def test_a_design_names_its_unclassified_fields_and_document_slots(api):
    headers = api.designer()
    document = enterprise_document()
    del document["documents"][1]["classification"]  # as designs from before slots had one
    del document["eforms"][0]["fields"]["owner_phone"]["classification"]
    service_id = api.call("POST", "/designer/services", expect=201, headers=headers, json=document).json()["id"]

    design = api.call("GET", f"/designer/services/{service_id}", expect=200, headers=headers).json()

    assert design["unclassified"] == {"fields": ["ler-application.owner_phone"], "documents": [document["documents"][1]["type"]]}
    assert {"field": "eforms[0].fields.owner_phone.classification", "reason": "required: one of public, internal, personal, sensitive_personal"} in design["problems"]


def test_a_fully_classified_design_names_nothing_unclassified(api):
    created = api.call("POST", "/designer/services", expect=201, headers=api.designer(), json=enterprise_document()).json()

    assert created["unclassified"] == {"fields": [], "documents": []}
