"""Public catalogue extension: labels, layout, document slots, fees and the consent step of published services only."""
from .api_client import enterprise_document


def test_catalogue_lists_published_services_without_a_token(api):
    service_id = api.publish(enterprise_document(with_consent=True))["id"]

    listing = api.call("GET", "/catalogue/services", expect=200).json()

    entry = next(s for s in listing if s["id"] == service_id)
    assert entry["name"] == {"en": "Enterprise registration", "lo": "ການຈົດທະບຽນວິສາຫະກິດ"}
    assert entry["fees"] == [{"registration": "ENTERPRISE", "label": {"en": "Registration fee", "lo": "ຄ່າທຳນຽມຈົດທະບຽນ"},
                              "amount": 200000, "currency": "LAK", "perField": None}]
    assert entry["consent"] == {"dataAgreementId": "794e57fc-c7f8-571b-b09f-26c17f1864e1"}


def test_entry_has_labels_in_layout_order_and_document_slots(api):
    service_id = api.publish(enterprise_document())["id"]

    entry = api.call("GET", f"/catalogue/services/{service_id}", expect=200).json()

    fields = entry["eForms"][0]["fields"]
    assert [f["name"] for f in fields][:3] == ["company_name_lo", "company_name_en", "activity"]
    assert fields[5] == {"name": "registered_capital_lak", "label": {"en": "Registered capital (LAK)", "lo": "ທຶນຈົດທະບຽນ (ກີບ)"},
                         "section": "enterprise", "order": 6, "widget": "number"}
    assert entry["documents"][1] == {"type": "premises_lease", "label": {"en": "Lease of the business premises", "lo": "ສັນຍາເຊົ່າສະຖານທີ່ທຸລະກິດ"},
                                     "contentTypes": ["application/pdf"], "maxBytes": 10485760, "required": False}
    assert entry["registrations"][0]["determinants"][0]["obligation"] == "mandatory"


def test_layout_order_wins_over_schema_order(api):
    document = enterprise_document()
    document["eforms"][0]["fields"]["owner_email"]["layout"]["order"] = 0
    service_id = api.publish(document)["id"]

    entry = api.call("GET", f"/catalogue/services/{service_id}", expect=200).json()

    assert entry["eForms"][0]["fields"][0]["name"] == "owner_email"


def test_a_service_without_consent_step_says_so(api):
    service_id = api.publish(enterprise_document(steps=[{"type": "write_registry"}]))["id"]

    entry = api.call("GET", f"/catalogue/services/{service_id}", expect=200).json()

    assert entry["consent"] is None


def test_a_draft_service_is_not_in_the_catalogue(api):
    created = api.call("POST", "/designer/services", expect=201, headers=api.designer(), json=enterprise_document()).json()

    listing = api.call("GET", "/catalogue/services", expect=200).json()

    api.call("GET", f"/catalogue/services/{created['id']}", expect=404)
    assert created["id"] not in {s["id"] for s in listing}


def test_unknown_or_overlong_id_is_404_in_the_error_shape(api):
    unknown = api.call("GET", "/catalogue/services/no-such-service", expect=404).json()

    api.call("GET", "/catalogue/services/" + "x" * 300, expect=404)
    assert unknown["code"] == "service_not_found"


def test_determinant_conditions_are_published_for_portals_to_check(api):
    listing = api.call("GET", "/catalogue/services", expect=200).json()
    cash_transfer = next(s for s in listing if s["code"] == "SCT")

    entry = api.call("GET", f"/catalogue/services/{cash_transfer['id']}", expect=200).json()

    determinant = entry["registrations"][0]["determinants"][0]
    assert determinant["condition"] == {"properties": {"monthly_income_lak": {"maximum": 1500000}}, "required": ["monthly_income_lak"]}
    assert determinant["description"]["en"] == "Households with a monthly income of at most 1 500 000 LAK"


def test_entry_has_section_titles_and_enum_option_labels(api):
    service_id = api.publish(enterprise_document())["id"]

    eform = api.call("GET", f"/catalogue/services/{service_id}", expect=200).json()["eForms"][0]

    assert [s["id"] for s in eform["sections"]] == ["enterprise", "address", "owner"]
    assert eform["sections"][1] == {"id": "address", "title": {"en": "Address", "lo": "ທີ່ຕັ້ງ"}}
    province = next(f for f in eform["fields"] if f["name"] == "province")
    assert len(province["options"]) == 18
    assert province["options"][0] == {"value": "VTE", "label": {"en": "Vientiane Capital", "lo": "ນະຄອນຫຼວງວຽງຈັນ"}}
    assert "options" not in next(f for f in eform["fields"] if f["name"] == "district")  # not an enum field


def test_enum_values_without_labels_are_listed_by_their_value(api):
    document = enterprise_document()
    del document["eforms"][0]["fields"]["activity"]["options"]
    service_id = api.publish(document)["id"]

    eform = api.call("GET", f"/catalogue/services/{service_id}", expect=200).json()["eForms"][0]

    activity = next(f for f in eform["fields"] if f["name"] == "activity")
    assert activity["options"][3] == {"value": "retail", "label": {"en": "retail", "lo": "retail"}}
