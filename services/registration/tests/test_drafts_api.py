"""Applicant drafts: save, resume, delete, and submit only with explicit confirmation."""
import pytest

from .api_client import IM, enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def service_id(api):
    return api.publish(enterprise_document())["id"]


def save(api, service_id, headers, data) -> dict:
    return api.call("POST", f"/services/{service_id}/drafts", expect=201, headers=headers,
                    json={"applicationName": "Nam Sai", "formData": {"data": data, "eFormId": "ler-application"}}).json()


def test_incomplete_draft_is_saved_and_resumed(api, service_id):
    applicant = api.token(sub=unique("citizen"))
    draft = save(api, service_id, applicant, {"company_name_en": "Nam Sai"})

    resumed = api.call("GET", f"/drafts/{draft['fileId']}", expect=200, headers=applicant).json()
    mine = api.call("GET", "/drafts", expect=200, headers=applicant).json()
    spec_list = api.call("GET", "/applications", expect=200, headers={**applicant, **IM}).json()

    assert resumed["status"]["code"] == "DRAFT" and resumed["applicationData"]["formData"]["data"] == {"company_name_en": "Nam Sai"}
    assert [d["fileId"] for d in mine] == [draft["fileId"]]
    assert spec_list == []  # drafts are not application files yet


def test_submitting_needs_confirmation_and_valid_data(api, service_id):
    applicant = api.token(sub=unique("citizen"))
    draft_id = save(api, service_id, applicant, {"company_name_en": "Nam Sai"})["fileId"]

    unconfirmed = api.call("POST", f"/drafts/{draft_id}/submit", expect=400, headers=applicant, json={}).json()
    incomplete = api.call("POST", f"/drafts/{draft_id}/submit", expect=400, headers=applicant, json={"confirm": True}).json()
    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"formData": {"data": enterprise_data()}})
    submitted = api.call("POST", f"/drafts/{draft_id}/submit", expect=200, headers=applicant, json={"confirm": True}).json()

    assert unconfirmed["details"] == [{"field": "confirm", "reason": "must be true"}]
    assert {d["field"] for d in incomplete["details"]} >= {"owner_name", "province", "district"}
    assert submitted["fileId"] == draft_id and submitted["status"]["code"] == "PENDING"
    api.call("GET", f"/drafts/{draft_id}", expect=404, headers=applicant)


def test_deleted_draft_is_gone(api, service_id):
    applicant = api.token(sub=unique("citizen"))
    draft_id = save(api, service_id, applicant, {})["fileId"]

    api.call("DELETE", f"/drafts/{draft_id}", expect=204, headers=applicant)

    api.call("GET", f"/drafts/{draft_id}", expect=404, headers=applicant)


def test_drafts_are_private(api, service_id):
    owner, stranger = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    draft_id = save(api, service_id, owner, {"company_name_en": "Nam Sai"})["fileId"]

    api.call("GET", f"/drafts/{draft_id}", expect=404, headers=stranger)
    api.call("PUT", f"/drafts/{draft_id}", expect=404, headers=stranger, json={"formData": {"data": {}}})
    api.call("DELETE", f"/drafts/{draft_id}", expect=404, headers=stranger)
    api.call("GET", f"/applications/{draft_id}", expect=404, headers={**owner, **IM})

    assert api.call("GET", f"/drafts/{draft_id}", expect=200, headers=owner).json()["applicationData"]["formData"]["data"] == {"company_name_en": "Nam Sai"}


def test_draft_names_each_uploaded_document_by_slot_and_file_name_but_not_other_peoples(api, service_id):
    applicant, someone_else = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
    mine = api.call("POST", "/documents", expect=200, headers=applicant, params={"serviceId": service_id, "documentType": "owner_id_card"},
                    files={"file": ("C:\\scans\\id card\u200b.png", png, "image/png")}).json()["url"]
    theirs = api.call("POST", "/documents", expect=200, headers=someone_else, files={"file": ("their-secret.png", png, "image/png")}).json()["url"]
    draft_id = save(api, service_id, applicant, {})["fileId"]

    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"documentUrls": [mine, theirs]})
    draft = api.call("GET", f"/drafts/{draft_id}", expect=200, headers=applicant).json()

    assert draft["documents"] == [{"url": mine, "documentType": "owner_id_card", "fileName": "id card.png"}]
