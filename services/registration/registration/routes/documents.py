"""GovStack document upload, stored in the service's database; served only to the file's applicant and operators, and
deleted by the uploader while no application holds it."""
import base64
import binascii
import logging

import filetype
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kernel import safejson
from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, design, designer, uploads
from registration.models import Document
from registration.routes.deps import SettingsDep, Utf8JSONResponse

router = APIRouter(prefix="/documents", tags=["documents"], default_response_class=Utf8JSONResponse)
_BASE64_OVERHEAD = 4 / 3
log = logging.getLogger(__name__)


def _missing_file() -> ApiError:
    return ApiError(400, "file_required", "A file is required.", details=[{"field": "file", "reason": "required"}])


def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "malformed_file", "file must be base64 encoded.", details=[{"field": "file", "reason": "not base64"}])


def _file_name(part) -> str:
    """The uploaded file's own name without any path, for showing back; base64 uploads carry none."""
    name = part.filename if isinstance(part, UploadFile) and part.filename else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255]


async def _read_file(request: Request, limit: int) -> tuple[bytes, str]:
    """The one uploaded file and its name: a multipart file part, or base64 text in a form (what the suite sends) or JSON field."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit * _BASE64_OVERHEAD + 64 * 1024:
        raise _too_large(limit)  # refuse before reading a body that cannot fit
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_part_size=int(limit * _BASE64_OVERHEAD) + 1024)
        except Exception as exc:  # the multipart parser's own errors, e.g. a part over the size above
            if "size" in str(exc).lower():
                raise _too_large(limit)
            raise ApiError(400, "malformed_body", "The upload cannot be read.", details=[{"field": "file", "reason": "malformed"}])
        parts = form.getlist("file")
    elif content_type == "application/json":
        try:
            body = safejson.loads(await request.body() or b"{}")  # deep nesting, NUL and lone surrogates are a ValueError too
        except ValueError:
            raise ApiError(400, "malformed_body", "The request body is not JSON.", details=[{"field": "body", "reason": "not JSON"}])
        value = body.get("file") if isinstance(body, dict) else None
        parts = value if isinstance(value, list) else ([value] if value else [])
    else:
        parts = []
    if not parts:
        raise _missing_file()
    if len(parts) > 1:
        raise ApiError(400, "one_file_per_upload", "Upload one file per request.", details=[{"field": "file", "reason": "more than one file"}])
    part = parts[0]
    if isinstance(part, UploadFile):
        data = await part.read(limit + 1)
    elif isinstance(part, str) and part.strip():
        data = _decode(part)
    else:
        raise _missing_file()
    if not data:
        raise _missing_file()
    if len(data) > limit:
        raise _too_large(limit)
    return data, _file_name(part)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large", f"The file is larger than {limit} bytes.", details=[{"field": "file", "reason": f"larger than {limit} bytes"}])


@router.post("")
async def upload_document(request: Request, uow: UowDep, caller: CallerDep, settings: SettingsDep, additionalMetadata: str = "",
                          serviceId: str | None = None, documentType: str | None = None) -> dict:
    # Database work runs in worker threads: a pool checkout on the event loop would stall every request while the
    # connections it waits for are given back only by request teardowns that need that same loop.
    limit, allowed = await run_in_threadpool(_limits, uow, settings, serviceId, documentType)
    data, file_name = await _read_file(request, limit)
    sniffed = filetype.guess_mime(data) or "application/octet-stream"  # what the bytes are, not what the client claims
    if sniffed not in allowed:
        raise ApiError(415, "unsupported_document_type", f"Accepted types: {', '.join(allowed)}.", details=[{"field": "file", "reason": f"content is {sniffed}"}])
    document = Document(owner_id=caller.subject, document_type=documentType or "", file_name=file_name, content_type=sniffed, size=len(data),
                        additional_metadata=additionalMetadata[:2000])
    await run_in_threadpool(uploads.store, uow, document=document, data=data)
    return {"code": 200, "type": sniffed, "message": "Document stored.", "url": f"{settings.public_url.rstrip('/')}/documents/{document.id}"}


def _limits(uow, settings, service_id: str | None, document_type: str | None) -> tuple[int, list[str]]:
    """The size limit and content types for this upload: the service's own for a document type it asks for."""
    limit, allowed = settings.max_document_bytes, list(settings.default_document_types)
    if document_type is not None:
        service = designer.get_or_raise(uow, service_id=service_id or "")
        required = design.document_type(designer.published_document(uow, service=service) or {}, document_type)
        if required is None:
            raise ApiError(400, "unknown_document_type", "The service asks for no document of this type.",
                           details=[{"field": "documentType", "reason": "not a document type of this service"}])
        limit, allowed = min(limit, required["max_bytes"]), required["content_types"]
    return limit, allowed


@router.get("/{document_id}")
def download_document(document_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> Response:
    document = uow.session.get(Document, document_id)
    if document is None:
        raise ApiError(404, "document_not_found", "No document has this id.")
    if document.owner_id != caller.subject:
        if document.file_id is None:
            raise ApiError(404, "document_not_found", "No document has this id.")
        view = access.file_view(uow, file_id=document.file_id, caller=caller, admin_roles=settings.admin_roles)  # 404 unless allowed
        # An operator whose roles may not see the slot's classification gets the same 404 as for an unknown id, as the
        # file view leaves the document out rather than saying it is there.
        if not view.roles or not view.may_see_document(document):
            raise ApiError(404, "document_not_found", "No document has this id.")
    data = uploads.read(uow, settings, document=document)
    if data is None:  # a row from before the database held the bytes, whose file is gone (never deleted by us in this order)
        log.error("document %s has a row but no stored bytes", document.id)
        raise ApiError(404, "document_not_found", "No document has this id.")
    return Response(data, media_type=document.content_type,
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.delete("/{document_id}", status_code=204)
def delete_document(document_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> Response:
    """The uploader deletes an upload, row and bytes, while no application holds it."""
    document = uow.session.get(Document, document_id)
    if document is None or document.owner_id != caller.subject:
        raise ApiError(404, "document_not_found", "No document has this id.")
    if document.file_id is not None:
        raise ApiError(409, "document_submitted", "The document was submitted with an application and is kept as its evidence.")
    if document.id in uploads.listed_ids(uow, applicant_ids={caller.subject}):
        raise ApiError(409, "document_in_use", "A draft or application of yours lists this document; remove it there first.")
    removed = uploads.release(uow, owner_id=caller.subject, document_ids=[document.id])
    if not removed:  # attached or listed since the checks above
        raise ApiError(409, "document_in_use", "A draft or application of yours lists this document; remove it there first.")
    uow.commit()
    uploads.unlink(settings, removed)
    return Response(status_code=204)
