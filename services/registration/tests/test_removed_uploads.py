"""Removed uploads are gone, row and bytes: taken off or replaced in a draft, with a deleted draft, deleted by their
uploader, or abandoned; what a submitted application holds stays."""
import os
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from kernel.testing import serve, wait_until
from registration import uploads
from registration.app import create_app
from registration.models import Document, DocumentContent, utcnow
from registration.settings import RegistrationSettings
from .api_client import IM, enterprise_data, enterprise_document, unique
from .test_documents_api import PDF, upload


@pytest.fixture(scope="module")
def service_id(api):
    return api.publish(enterprise_document())["id"]


def new_draft(api, service_id, headers, urls=()) -> str:
    return api.call("POST", f"/services/{service_id}/drafts", expect=201, headers=headers,
                    json={"formData": {"data": {}, "eFormId": "ler-application"}, "documentUrls": list(urls)}).json()["fileId"]


def uploaded(api, service_id, headers, kind="owner_id_card") -> str:
    return upload(api, headers, PDF, serviceId=service_id, documentType=kind).json()["url"]


def doc_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def stored(engine, url: str) -> dict:
    """What is kept of an upload: its row and its bytes, looked up directly in the database."""
    with Session(engine) as session:
        return {"row": session.get(Document, doc_id(url)) is not None, "bytes": session.get(DocumentContent, doc_id(url)) is not None}


KEPT, GONE = {"row": True, "bytes": True}, {"row": False, "bytes": False}


def test_an_upload_replaced_in_a_draft_is_deleted(api, engine, service_id):
    applicant = api.token(sub=unique("citizen"))
    first = uploaded(api, service_id, applicant)
    draft_id = new_draft(api, service_id, applicant, [first])
    second = uploaded(api, service_id, applicant)

    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"documentUrls": [second]})

    assert stored(engine, first) == GONE and stored(engine, second) == KEPT
    assert api.call("GET", f"/documents/{doc_id(first)}", expect=404, headers=applicant).json()["code"] == "document_not_found"


def test_an_upload_taken_off_a_draft_is_deleted_and_the_others_stay(api, engine, service_id):
    applicant = api.token(sub=unique("citizen"))
    card, lease = uploaded(api, service_id, applicant), uploaded(api, service_id, applicant, "premises_lease")
    draft_id = new_draft(api, service_id, applicant, [card, lease])

    draft = api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"documentUrls": [lease]}).json()

    assert stored(engine, card) == GONE and stored(engine, lease) == KEPT
    assert [d["url"] for d in draft["documents"]] == [lease]


def test_saving_a_draft_without_document_urls_keeps_its_uploads(api, engine, service_id):
    applicant = api.token(sub=unique("citizen"))
    card = uploaded(api, service_id, applicant)
    draft_id = new_draft(api, service_id, applicant, [card])

    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"applicationName": "renamed"})

    assert stored(engine, card) == KEPT


def test_a_deleted_drafts_uploads_go_with_it_unless_another_draft_lists_them(api, engine, service_id):
    applicant = api.token(sub=unique("citizen"))
    own, shared = uploaded(api, service_id, applicant), uploaded(api, service_id, applicant, "premises_lease")
    draft_id = new_draft(api, service_id, applicant, [own, shared])
    other_draft = new_draft(api, service_id, applicant, [shared])

    api.call("DELETE", f"/drafts/{draft_id}", expect=204, headers=applicant)

    assert stored(engine, own) == GONE and stored(engine, shared) == KEPT
    api.call("GET", f"/drafts/{other_draft}", expect=200, headers=applicant)


def test_another_persons_draft_listing_an_upload_does_not_keep_it(api, engine, service_id):
    applicant, someone_else = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    card = uploaded(api, service_id, applicant)
    draft_id = new_draft(api, service_id, applicant, [card])
    new_draft(api, service_id, someone_else, [card])  # anyone can type a URL into their draft; it holds nothing

    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"documentUrls": []})

    assert stored(engine, card) == GONE


def test_a_submitted_applications_documents_stay_when_a_draft_drops_them(api, engine):
    document = enterprise_document()
    service_id = api.publish(document)["id"]
    applicant = api.token(sub=unique("citizen"))
    registrar = api.token(sub=unique("op"), roles=document["roles"][1]["operator_roles"])
    card = uploaded(api, service_id, applicant)
    file_id = api.submit(service_id, applicant, enterprise_data(), documentUrls=[card]).json()["fileId"]
    draft_id = new_draft(api, service_id, applicant, [card])

    api.call("PUT", f"/drafts/{draft_id}", expect=200, headers=applicant, json={"documentUrls": []})
    api.call("DELETE", f"/drafts/{new_draft(api, service_id, applicant, [card])}", expect=204, headers=applicant)
    refused = api.call("DELETE", f"/documents/{doc_id(card)}", expect=409, headers=applicant).json()

    assert stored(engine, card) == KEPT and refused["code"] == "document_submitted"
    assert api.call("GET", f"/documents/{doc_id(card)}", expect=200, headers=registrar).content == PDF
    assert api.file(applicant, file_id).json()["applicationData"]["documentUrls"] == [card]


def test_a_document_replaced_in_a_correction_stays_as_evidence(api, engine):
    document = enterprise_document()
    service_id = api.publish(document)["id"]
    applicant = api.token(sub=unique("citizen"))
    reviewer = api.token(sub=unique("op"), roles=document["roles"][0]["operator_roles"])
    lease = uploaded(api, service_id, applicant, "premises_lease")
    file_id = api.submit(service_id, applicant, enterprise_data(), documentUrls=[lease]).json()["fileId"]
    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "send_back", reason="the lease is unreadable")
    better = uploaded(api, service_id, applicant, "premises_lease")

    api.call("PUT", f"/applications/{file_id}", expect=200, headers={**applicant, **IM},
             json={"formData": {"data": enterprise_data(), "eFormId": "ler-application"}, "documentUrls": [better]})

    assert stored(engine, lease) == KEPT and stored(engine, better) == KEPT


def test_the_uploader_deletes_an_upload_nothing_holds(api, engine):
    owner = api.token(sub=unique("citizen"))
    url = upload(api, owner, PDF).json()["url"]

    api.call("DELETE", f"/documents/{doc_id(url)}", expect=204, headers=owner)

    assert stored(engine, url) == GONE
    api.call("GET", f"/documents/{doc_id(url)}", expect=404, headers=owner)
    api.call("DELETE", f"/documents/{doc_id(url)}", expect=404, headers=owner)


def test_an_upload_a_draft_lists_is_not_deleted_on_its_own(api, engine, service_id):
    applicant = api.token(sub=unique("citizen"))
    card = uploaded(api, service_id, applicant)
    new_draft(api, service_id, applicant, [card])

    refused = api.call("DELETE", f"/documents/{doc_id(card)}", expect=409, headers=applicant).json()

    assert refused["code"] == "document_in_use" and stored(engine, card) == KEPT


@pytest.mark.parametrize("document_id, status, code", [
    ("no-such-document", 404, "document_not_found"), ("x" * 300, 404, "document_not_found"), ("%F0%9F%98%80", 404, "document_not_found"),
    ("%00", 400, "invalid_value"),  # the kernel's answer for text the database cannot take
    ("..%2F..%2Fetc", 404, "not_found"),  # a decoded / leaves the route
])
def test_bad_document_ids_are_refused(api, document_id, status, code):
    owner = api.token(sub=unique("citizen"))

    assert api.call("DELETE", f"/documents/{document_id}", expect=status, headers=owner).json()["code"] == code
    assert api.call("GET", f"/documents/{document_id}", expect=status, headers=owner).json()["code"] == code


def test_only_the_uploader_deletes_an_upload(api, engine):
    owner, stranger = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    url = upload(api, owner, PDF).json()["url"]

    api.call("DELETE", f"/documents/{doc_id(url)}", expect=404, headers=stranger)
    api.call("DELETE", f"/documents/{doc_id(url)}", expect=401)

    assert stored(engine, url) == KEPT


def _age(engine, url: str, by: timedelta) -> None:
    """Make an upload look as old as `by`."""
    with Session(engine) as session:
        session.execute(update(Document).where(Document.id == doc_id(url)).values(created=utcnow() - by))
        session.commit()


def test_purge_deletes_old_uploads_nothing_holds_and_stray_legacy_files(api, engine, settings, service_id):
    applicant = api.token(sub=unique("citizen"))
    abandoned, recent = uploaded(api, service_id, applicant), uploaded(api, service_id, applicant)
    in_draft, submitted = uploaded(api, service_id, applicant), uploaded(api, service_id, applicant, "premises_lease")
    new_draft(api, service_id, applicant, [in_draft])
    api.submit(service_id, applicant, enterprise_data(), documentUrls=[submitted])
    orphan_age = timedelta(hours=settings.upload_orphan_hours)  # the default: 24 hours
    day_and_more = orphan_age + timedelta(hours=1)
    for url in (abandoned, in_draft, submitted):
        _age(engine, url, day_and_more)
    root, rowless_id = settings.documents_dir, str(uuid.uuid4())
    stray = root / rowless_id[:2] / rowless_id  # a legacy file whose row is gone (a crash before unlink)
    moved = root / doc_id(recent)[:2] / doc_id(recent)  # a legacy file already moved into the database (a crash before unlink)
    foreign = root / "notes" / "read-me.txt"  # not named as uploads were: never swept
    for path in (stray, moved, foreign):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)
        os.utime(path, (time.time() - day_and_more.total_seconds(),) * 2)

    purged = uploads.purge(engine, settings, orphan_age=orphan_age)

    assert stored(engine, abandoned) == GONE and not stray.exists() and not moved.exists() and foreign.exists()
    assert [stored(engine, url) for url in (recent, in_draft, submitted)] == [KEPT] * 3
    assert purged.orphans >= 1 and purged.stray_files >= 2


def test_a_shorter_upload_orphan_hours_purges_an_upload_the_default_keeps(api, engine, settings, service_id, monkeypatch, tmp_path):
    applicant = api.token(sub=unique("citizen"))
    abandoned, in_draft = uploaded(api, service_id, applicant), uploaded(api, service_id, applicant)
    new_draft(api, service_id, applicant, [in_draft])
    for url in (abandoned, in_draft):
        _age(engine, url, timedelta(hours=2))
    uploads.purge(engine, settings, orphan_age=timedelta(hours=settings.upload_orphan_hours))  # the default, 24 hours
    kept_by_default = stored(engine, abandoned)
    monkeypatch.setenv("UPLOAD_ORPHAN_HOURS", "1.5")
    monkeypatch.setenv("UPLOAD_PURGE_INTERVAL_SECONDS", "0.05")
    # Another API process whose settings come from those variables (with its own, empty, legacy documents folder).
    shorter = RegistrationSettings(**settings.model_dump(exclude={"upload_orphan_hours", "upload_purge_interval_seconds",
                                                                  "documents_dir", "fixtures"}), documents_dir=tmp_path)

    with serve(create_app(shorter)):  # its purge thread starts with the API and runs every 0.05 seconds
        wait_until(lambda: stored(engine, abandoned) == GONE, timeout=15, message="the purge with UPLOAD_ORPHAN_HOURS=1.5")

    assert settings.upload_orphan_hours == 24 and (shorter.upload_orphan_hours, shorter.upload_purge_interval_seconds) == (1.5, 0.05)
    assert kept_by_default == KEPT and stored(engine, in_draft) == KEPT


@pytest.mark.parametrize("variable", ["UPLOAD_ORPHAN_HOURS", "UPLOAD_PURGE_INTERVAL_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "inf"])
def test_the_upload_purge_settings_refuse_values_that_are_not_positive(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValueError, match=f"{variable} must be a positive number"):
        RegistrationSettings()


@pytest.mark.parametrize("variable, value", [("UPLOAD_ORPHAN_HOURS", "1e9"), ("UPLOAD_PURGE_INTERVAL_SECONDS", "1e30")])
def test_the_upload_purge_settings_refuse_values_the_purge_cannot_use(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValueError, match=f"{variable} is too large"):
        RegistrationSettings()
