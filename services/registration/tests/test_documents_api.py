"""Documents: sniffed, size-limited, stored in the database, served only to the file's applicant and operators."""
import base64

from sqlmodel import Session, select

from registration.models import Document
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


def test_oversized_upload_is_413_and_nothing_is_stored(api, engine):
    owner_id = unique("citizen")
    owner = api.token(sub=owner_id)

    refused = upload(api, owner, PDF + b"\0" * MAX_DOCUMENT_BYTES, expect=413).json()
    upload(api, owner, PDF)  # the same owner's next upload is stored, so the query below does find their rows

    assert refused["code"] == "file_too_large"
    with Session(engine) as session:
        assert session.exec(select(Document.size).where(Document.owner_id == owner_id)).all() == [len(PDF)]


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
    registrar = api.token(sub=unique("operator"), roles=document["roles"][1]["operator_roles"])  # sees the ID card's class
    url = upload(api, owner, PDF, serviceId=service_id, documentType="owner_id_card").json()["url"]
    path = "/documents/" + url.rsplit("/", 1)[-1]

    api.call("GET", path, expect=404, headers=registrar)  # not yet part of a file
    missing = api.submit(service_id, owner, enterprise_data(), expect=400).json()
    stolen = api.submit(service_id, stranger, enterprise_data(), documentUrls=[url], expect=400).json()
    api.submit(service_id, owner, enterprise_data(), documentUrls=[url])

    assert missing["details"] == [{"field": "documents.owner_id_card", "reason": "required document is missing"}]
    assert stolen["details"][0] == {"field": "documentUrls[0]", "reason": "not a document you uploaded"}
    assert api.call("GET", path, expect=200, headers=registrar).content == PDF
    api.call("GET", path, expect=404, headers=stranger)
    api.call("GET", path, expect=401)


def test_uploads_need_a_token(api):
    api.call("POST", "/documents", expect=401, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=IM)


def _file_with_id_card_and_lease(api, document: dict) -> tuple[str, dict, dict[str, str]]:
    """A submitted enterprise file with the owner's ID card and the lease attached: (file id, owner, type -> url)."""
    service_id = api.publish(document)["id"]
    owner = api.token(sub=unique("citizen"))
    urls = {kind: upload(api, owner, PDF, serviceId=service_id, documentType=kind).json()["url"] for kind in ("owner_id_card", "premises_lease")}
    file_id = api.submit(service_id, owner, enterprise_data(), documentUrls=list(urls.values())).json()["fileId"]
    return file_id, owner, urls


def _seen(api, headers: dict, file_id: str, urls: dict[str, str]) -> dict:
    """What the caller gets of the file's documents: listed in the file view, in the file list, and downloadable."""
    view = api.file(headers, file_id).json()
    listed = [f for f in api.call("GET", "/applications", expect=200, headers={**headers, **IM}).json() if f["fileId"] == file_id]
    downloads = {kind: api.http.get("/documents/" + url.rsplit("/", 1)[-1], headers=headers) for kind, url in urls.items()}
    return {"documentUrls": view["applicationData"]["documentUrls"], "documents": [d["documentType"] for d in view["documents"]],
            "listed": listed[0]["documentUrls"], "downloads": {kind: r.status_code for kind, r in downloads.items()},
            "errors": {kind: r.json()["code"] for kind, r in downloads.items() if r.status_code != 200}}


def test_a_role_without_the_documents_classification_neither_sees_nor_downloads_it(api):
    document = enterprise_document()  # owner_id_card: sensitive_personal, premises_lease: personal
    file_id, owner, urls = _file_with_id_card_and_lease(api, document)
    reviewer = api.token(sub=unique("op"), roles=document["roles"][0]["operator_roles"])  # sees up to personal
    registrar = api.token(sub=unique("op"), roles=document["roles"][1]["operator_roles"])  # sees sensitive_personal too
    both = [urls["owner_id_card"], urls["premises_lease"]]

    assert _seen(api, reviewer, file_id, urls) == {
        "documentUrls": [urls["premises_lease"]], "documents": ["premises_lease"], "listed": [urls["premises_lease"]],
        "downloads": {"owner_id_card": 404, "premises_lease": 200}, "errors": {"owner_id_card": "document_not_found"}}
    assert _seen(api, registrar, file_id, urls) == {
        "documentUrls": both, "documents": ["owner_id_card", "premises_lease"], "listed": both,
        "downloads": {"owner_id_card": 200, "premises_lease": 200}, "errors": {}}
    assert _seen(api, owner, file_id, urls) == {
        "documentUrls": both, "documents": ["owner_id_card", "premises_lease"], "listed": both,
        "downloads": {"owner_id_card": 200, "premises_lease": 200}, "errors": {}}
    hidden = api.http.get("/documents/" + urls["owner_id_card"].rsplit("/", 1)[-1], headers=reviewer).json()
    assert set(hidden) >= {"traceId", "code", "message", "localizedMessage"}  # the same answer as for an unknown id
    assert hidden["message"] == api.http.get("/documents/no-such-document", headers=reviewer).json()["message"]


def test_an_unclassified_document_slot_reaches_only_roles_that_see_sensitive_personal_data(api):
    document = enterprise_document()
    for slot in document["documents"]:
        del slot["classification"]  # a design from before slots had a classification
    assert api.call("POST", "/designer/services/validate", expect=200, headers=api.designer(), json=document).json() == {"valid": True, "problems": []}
    file_id, owner, urls = _file_with_id_card_and_lease(api, document)  # publishes it
    reviewer = api.token(sub=unique("op"), roles=document["roles"][0]["operator_roles"])
    registrar = api.token(sub=unique("op"), roles=document["roles"][1]["operator_roles"])

    assert _seen(api, reviewer, file_id, urls)["downloads"] == {"owner_id_card": 404, "premises_lease": 404}
    assert _seen(api, reviewer, file_id, urls)["documents"] == []
    assert _seen(api, registrar, file_id, urls)["downloads"] == {"owner_id_card": 200, "premises_lease": 200}
    assert _seen(api, owner, file_id, urls)["downloads"] == {"owner_id_card": 200, "premises_lease": 200}


def test_a_document_slot_with_an_unknown_classification_cannot_be_published(api):
    document = enterprise_document()
    document["documents"][1]["classification"] = "secret"
    headers = api.designer()

    checked = api.call("POST", "/designer/services/validate", expect=200, headers=headers, json=document).json()
    created = api.call("POST", "/designer/services", expect=201, headers=headers, json=document).json()
    refused = api.call("POST", f"/designer/services/{created['id']}/publish", expect=400, headers=headers).json()

    assert checked["problems"] == [{"field": "documents[1].classification",
                                    "reason": "must be one of public, internal, personal, sensitive_personal (leave it out for sensitive_personal)"}]
    assert refused["code"] == "invalid_service" and refused["details"] == checked["problems"]
