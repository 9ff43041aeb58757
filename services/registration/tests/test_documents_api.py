"""Documents: sniffed, size-limited, stored on disk, served only to the file's applicant and operators."""
import base64

from .api_client import IM, enterprise_data, enterprise_document, unique
from .conftest import MAX_DOCUMENT_BYTES

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def upload(api, headers, content: bytes, expect: int = 200, **params):
    return api.call("POST", "/documents", expect=expect, headers=headers, params=params, files={"file": ("scan.bin", content, "text/plain")})


def test_upload_sniffs_the_content_type_and_serves_it_back_to_the_owner(api):
    owner = api.token(sub=unique("citizen"))

    stored = upload(api, owner, PDF).json()
    fetched = api.call("GET", "/documents/" + stored["url"].rsplit("/", 1)[-1], expect=200, headers=owner)

    assert (stored["code"], stored["type"]) == (200, "application/pdf")  # the bytes decide, not the declared text/plain
    assert fetched.content == PDF and fetched.headers["content-type"] == "application/pdf"


def test_form_encoded_base64_upload_is_accepted(api):
    owner = api.token(sub=unique("citizen"))

    stored = api.call("POST", "/documents", expect=200, headers=owner, data={"file": base64.b64encode(PNG).decode()}).json()

    assert stored["type"] == "image/png"


def test_oversized_upload_is_413_and_nothing_is_stored(api, settings):
    owner = api.token(sub=unique("citizen"))
    before = sorted(p.name for p in settings.documents_dir.rglob("*")) if settings.documents_dir.exists() else []

    refused = upload(api, owner, PDF + b"\0" * MAX_DOCUMENT_BYTES, expect=413).json()

    assert refused["code"] == "file_too_large"
    assert sorted(p.name for p in settings.documents_dir.rglob("*")) == before


def test_service_document_type_applies_its_own_limit_and_types(api):
    document = enterprise_document()
    document["documents"][1]["max_bytes"] = 100
    service_id = api.publish(document)["id"]
    owner = api.token(sub=unique("citizen"))

    upload(api, owner, PDF + b"\0" * 200, expect=413, serviceId=service_id, documentType="premises_lease")
    upload(api, owner, PNG, expect=415, serviceId=service_id, documentType="premises_lease")
    upload(api, owner, PDF, expect=400, serviceId=service_id, documentType="no_such_type")


def test_unrecognised_content_is_415(api):
    refused = upload(api, api.token(sub=unique("citizen")), b"just some text", expect=415).json()

    assert refused["details"] == [{"field": "file", "reason": "content is application/octet-stream"}]


def test_upload_without_a_file_is_400_with_a_string_code(api):
    refused = api.call("POST", "/documents", expect=400, headers=api.token(sub=unique("citizen"))).json()

    assert refused["code"] == "file_required" and set(refused) >= {"traceId", "code", "message", "localizedMessage"}


def test_documents_reach_the_files_operators_and_nobody_else(api):
    document = enterprise_document()
    document["documents"][0]["required"] = True
    service_id = api.publish(document)["id"]
    owner, stranger = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    reviewer = api.token(sub=unique("operator"), roles=document["roles"][0]["operator_roles"])
    url = upload(api, owner, PDF, serviceId=service_id, documentType="owner_id_card").json()["url"]
    path = "/documents/" + url.rsplit("/", 1)[-1]

    api.call("GET", path, expect=404, headers=reviewer)  # not yet part of a file
    missing = api.submit(service_id, owner, enterprise_data(), expect=400).json()
    stolen = api.submit(service_id, stranger, enterprise_data(), documentUrls=[url], expect=400).json()
    api.submit(service_id, owner, enterprise_data(), documentUrls=[url])

    assert missing["details"] == [{"field": "documents.owner_id_card", "reason": "required document is missing"}]
    assert stolen["details"][0] == {"field": "documentUrls[0]", "reason": "not a document you uploaded"}
    assert api.call("GET", path, expect=200, headers=reviewer).content == PDF
    api.call("GET", path, expect=404, headers=stranger)
    api.call("GET", path, expect=401)


def test_uploads_need_a_token(api):
    api.call("POST", "/documents", expect=401, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=IM)
