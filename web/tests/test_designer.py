"""Designer console over HTTP, against real identity, registration and gateway servers: list, create, edit with
validation, preview as a citizen, publish."""
import html
import re
import uuid

import httpx
import pytest
import yaml

from web.routes.designer import STARTER, lao_reason
from .staff_helpers import signed_in_staff


@pytest.fixture(scope="module")
def designer(base_url) -> httpx.Client:
    return signed_in_staff(base_url, "designer")


def unique_code() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()


def starter(code: str, **changes) -> str:
    document = yaml.safe_load(STARTER)
    document.update(code=code, **changes)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def created(designer: httpx.Client, code: str, **changes) -> str:
    response = designer.post("/designer/new", data={"document": starter(code, **changes)})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("/designer/services/")[1].split("?")[0]


def test_designer_lists_the_demo_services(designer):
    page = designer.get("/designer")

    assert page.status_code == 200
    assert 'data-code="LER"' in page.text and 'href="/designer/new"' in page.text


def test_designer_pages_refuse_staff_without_the_designer_role(base_url):
    operator = signed_in_staff(base_url, "auditor")

    page = operator.get("/designer")

    assert page.status_code == 403 and 'id="console-error"' in page.text


def test_creating_a_service_stores_version_1_unpublished(designer, registration_url):
    code = unique_code()

    service_id = created(designer, code)
    page = designer.get(f"/designer/services/{service_id}")

    assert page.status_code == 200
    assert f"{code} · " in page.text and 'id="published-version">' in page.text
    assert httpx.get(f"{registration_url}/services/{service_id}").status_code == 404  # not in the catalogue yet


def test_unreadable_yaml_is_refused_with_its_line_and_nothing_is_stored(designer):
    code = unique_code()
    before = designer.get("/designer").text.count('class="design"')

    refused = designer.post("/designer/new", data={"document": f"code: {code}\nname: [unclosed\n"})

    assert refused.status_code == 400
    assert re.search(r"ແຖວ \d+, ຖັນ \d+", refused.text)  # the designer's page is in Lao; the parser's own words stay
    assert designer.get("/designer").text.count('class="design"') == before


def test_an_incomplete_draft_is_saved_with_each_problem_named_by_field(designer):
    service_id = created(designer, (code := unique_code()))

    saved = designer.post(f"/designer/services/{service_id}", data={"document": starter(code, name={"en": "Only English"})})
    page = designer.get(saved.headers["location"])

    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=2")
    assert "<code>name.lo</code> ຕ້ອງມີ: ຂໍ້ຄວາມທີ່ບໍ່ຫວ່າງ" in page.text


def test_problems_are_in_english_on_the_english_page(designer):
    service_id = created(designer, (code := unique_code()))
    designer.post(f"/designer/services/{service_id}", data={"document": starter(code, name={"en": "Only English"})})

    page = designer.get(f"/designer/services/{service_id}", params={"lang": "en"})
    designer.get("/designer", params={"lang": "lo"})

    assert "<code>name.lo</code> required: a non-empty text" in page.text


def test_a_json_schema_error_is_named_in_lao_with_the_library_message_as_written(designer):
    document = yaml.safe_load(starter(unique_code()))
    document["eforms"][0]["schema"]["properties"]["full_name"]["type"] = "text"

    checked = designer.post("/designer/validate", content=yaml.safe_dump(document).encode(), headers={"Content-Type": "text/plain"}).json()

    [problem] = checked["problems"]
    assert problem["field"] == "eforms[0].schema.properties.full_name.type"
    assert problem["reason"].startswith("ບໍ່ແມ່ນ JSON Schema ທີ່ຖືກຕ້ອງ: ") and "'text' is not valid" in problem["reason"]


def test_a_reason_without_a_lao_translation_keeps_its_english_after_a_lao_prefix():
    assert lao_reason("a rule added later") == "ບັນຫາ (ພາສາອັງກິດ): a rule added later"
    assert lao_reason("duplicate id 'a'") == "id 'a' ຊ້ຳກັນ"


def test_editor_shows_the_stored_document_as_yaml(designer):
    service_id = created(designer, (code := unique_code()))

    page = designer.get(f"/designer/services/{service_id}")

    text = html.unescape(re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    assert yaml.safe_load(text)["code"] == code and yaml.safe_load(text)["name"]["lo"] == "ການບໍລິການໃໝ່"


def test_live_validation_answers_field_and_reason_without_storing(designer):
    code = unique_code()
    text = starter(code, name={"en": "English only"})

    checked = designer.post("/designer/validate", content=text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    syntax = designer.post("/designer/validate", content=b"code: [", headers={"Content-Type": "text/plain"})

    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert {"field": "name.lo", "reason": "ຕ້ອງມີ: ຂໍ້ຄວາມທີ່ບໍ່ຫວ່າງ"} in checked.json()["problems"]
    assert syntax.json()["valid"] is False and "ແຖວ 1" in syntax.json()["problems"][0]["reason"]
    assert f'data-code="{code}"' not in designer.get("/designer").text


def test_live_validation_of_a_valid_document(designer):
    checked = designer.post("/designer/validate", content=starter(unique_code()).encode(), headers={"Content-Type": "text/plain"})

    assert checked.json() == {"valid": True, "problems": []}


def test_edit_then_publish_puts_the_new_version_in_the_catalogue(designer, registration_url):
    service_id = created(designer, (code := unique_code()))
    saved = designer.post(f"/designer/services/{service_id}", data={"document": starter(code, name={"en": "Fishing licence", "lo": "ໃບອະນຸຍາດຫາປາ"})})

    published = designer.post(f"/designer/services/{service_id}/publish")
    page = designer.get(published.headers["location"])
    catalogue = httpx.get(f"{registration_url}/services/{service_id}", headers={"Accept-Language": "en"})

    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=2")
    assert published.status_code == 303 and published.headers["location"].endswith("?published=2")
    assert 'id="published-version">2<' in page.text
    assert catalogue.status_code == 200 and catalogue.json()[0]["name"] == "Fishing licence"


def test_invalid_version_cannot_be_published(designer, registration_url):
    service_id = created(designer, (code := unique_code()))
    designer.post(f"/designer/services/{service_id}", data={"document": starter(code, roles=[])})

    refused = designer.post(f"/designer/services/{service_id}/publish")

    assert refused.status_code == 400 and "<code>roles</code>" in refused.text
    assert httpx.get(f"{registration_url}/services/{service_id}").status_code == 404


def test_preview_renders_the_draft_form_as_citizens_see_it(designer):
    service_id = created(designer, unique_code())

    lao = designer.get(f"/designer/services/{service_id}/preview")
    english = designer.get(f"/designer/services/{service_id}/preview", params={"lang": "en"})
    designer.get("/designer", params={"lang": "lo"})

    assert lao.status_code == 200 and 'id="f-full_name"' in lao.text
    assert "ຊື່ ແລະ ນາມສະກຸນ" in lao.text and "ການບໍລິການໃໝ່" in lao.text
    assert "Full name" in english.text and 'id="preview-note"' in english.text


def test_preview_of_a_draft_without_a_form_says_so(designer):
    service_id = created(designer, (code := unique_code()))
    designer.post(f"/designer/services/{service_id}", data={"document": starter(code, eforms="not a list")})

    page = designer.get(f"/designer/services/{service_id}/preview")

    assert page.status_code == 400 and 'id="console-error"' in page.text


def test_creating_a_service_with_an_existing_code_is_a_conflict(designer):
    refused = designer.post("/designer/new", data={"document": starter("LER")})

    assert refused.status_code == 409


def with_province(document_text: str, options: dict) -> str:
    """The starter with a province dropdown whose codes carry the given labels."""
    document = yaml.safe_load(document_text)
    eform = document["eforms"][0]
    eform["schema"]["properties"]["province"] = {"type": "string", "enum": ["VTE", "LPB"]}
    eform["fields"]["province"] = {"label": {"en": "Province", "lo": "ແຂວງ"}, "classification": "public",
                                   "layout": {"section": "applicant", "order": 2, "widget": "select"}, "options": options}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_live_validation_names_an_unlabelled_option(designer):
    text = with_province(starter(unique_code()), {"VTE": {"en": "Vientiane Capital", "lo": "ນະຄອນຫຼວງວຽງຈັນ"}})

    checked = designer.post("/designer/validate", content=text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}).json()

    assert checked["problems"] == [{"field": "eforms[0].fields.province.options.LPB",
                                    "reason": "ຂາດ: ເມື່ອຄ່າໃດໜຶ່ງມີປ້າຍແລ້ວ ທຸກຄ່າຂອງ enum ຕ້ອງມີປ້າຍ"}]


def test_preview_shows_sections_and_option_labels(designer):
    code = unique_code()
    text = with_province(starter(code), {"VTE": {"en": "Vientiane Capital", "lo": "ນະຄອນຫຼວງວຽງຈັນ"},
                                         "LPB": {"en": "Luang Prabang", "lo": "ຫຼວງພະບາງ"}})
    response = designer.post("/designer/new", data={"document": text})
    service_id = response.headers["location"].split("/designer/services/")[1].split("?")[0]

    english = designer.get(f"/designer/services/{service_id}/preview", params={"lang": "en"}).text
    lao = designer.get(f"/designer/services/{service_id}/preview", params={"lang": "lo"}).text

    assert '<legend>The applicant</legend>' in english and '<option value="LPB">Luang Prabang</option>' in english
    assert '<legend>ຜູ້ຍື່ນຄຳຮ້ອງ</legend>' in lao and '<option value="VTE">ນະຄອນຫຼວງວຽງຈັນ</option>' in lao


def test_the_starter_shows_a_classified_document_slot_and_publishes(designer, registration_url):
    slot = yaml.safe_load(STARTER)["documents"][0]
    new_page = designer.get("/designer/new")
    english = designer.get("/designer/new", params={"lang": "en"})
    designer.get("/designer", params={"lang": "lo"})

    service_id = created(designer, unique_code())
    published = designer.post(f"/designer/services/{service_id}/publish")
    page = designer.get(published.headers["location"])
    catalogue = httpx.get(f"{registration_url}/catalogue/services/{service_id}").json()

    assert slot["classification"] == "personal" and "roles see the upload" in STARTER and "ບົດບາດໃດເຫັນເອກະສານນີ້" in STARTER
    assert "classification: personal" in html.unescape(new_page.text)
    assert 'id="classification-help"' in new_page.text and "ການຈັດປະເພດຂໍ້ມູນ classification" in new_page.text
    assert "Every form field and document slot has a classification" in english.text
    assert published.status_code == 303 and 'id="published-version">1<' in page.text
    assert [d["type"] for d in catalogue["documents"]] == [slot["type"]]
    assert 'id="unclassified"' not in page.text  # everything in the starter is classified


def test_a_design_names_its_unclassified_fields_and_document_slots_in_lao_and_english(designer):
    code = unique_code()
    document = yaml.safe_load(starter(code))
    del document["documents"][0]["classification"]  # as in designs from before document slots had one
    del document["eforms"][0]["fields"]["full_name"]["classification"]
    service_id = created(designer, code)
    designer.post(f"/designer/services/{service_id}", data={"document": yaml.safe_dump(document, allow_unicode=True)})

    lao = designer.get(f"/designer/services/{service_id}").text
    english = designer.get(f"/designer/services/{service_id}", params={"lang": "en"}).text
    designer.get("/designer", params={"lang": "lo"})

    assert 'id="unclassified"' in lao and "ຊ່ອງຂໍ້ມູນ ແລະ ເອກະສານທີ່ບໍ່ມີການຈັດປະເພດຂໍ້ມູນ" in lao
    assert "ຊ່ອງຂໍ້ມູນ: <code>newsvc-application.full_name</code>" in lao and "ບ່ອນອັບໂຫຼດເອກະສານ: <code>supporting_document</code>" in lao
    assert "Fields and document slots without a classification" in english
    assert "Fields: <code>newsvc-application.full_name</code>" in english and "Document slots: <code>supporting_document</code>" in english


def test_a_published_design_with_an_unclassified_slot_only_names_the_slot(designer):
    code = unique_code()
    document = yaml.safe_load(starter(code))
    del document["documents"][0]["classification"]  # still valid: the slot counts as sensitive_personal
    service_id = created(designer, code)
    designer.post(f"/designer/services/{service_id}", data={"document": yaml.safe_dump(document, allow_unicode=True)})

    published = designer.post(f"/designer/services/{service_id}/publish")
    page = designer.get(published.headers["location"], params={"lang": "en"}).text
    designer.get("/designer", params={"lang": "lo"})

    assert published.status_code == 303
    assert "Document slots: <code>supporting_document</code>" in page and "Fields: <code>" not in page
