"""GovStack catalogue: published services and their e-forms (public, as the spec's catalogue is)."""
from fastapi import APIRouter, Request
from sqlmodel import select

from kernel.db import UowDep
from kernel.errors import ApiError
from registration import design, designer
from registration.models import EFormVersion, ServiceDefinition
from registration.routes.deps import Utf8JSONResponse, language

router = APIRouter(tags=["services"], default_response_class=Utf8JSONResponse)


def service_out(service: ServiceDefinition, document: dict, lang: str) -> dict:
    return {
        "id": service.id, "name": design.text(document.get("name"), lang), "version": str(service.published_version),
        "type": document.get("type", "Public"), "isExecutable": True, "isClosed": bool(document.get("isClosed", False)),
        "description": design.text(document.get("description"), lang),
        "serviceBody": [{"code": r.get("code", ""), "value": design.text(r.get("name"), lang)} for r in document.get("registrations", [])],
    }


def _published(uow: UowDep):
    services = uow.session.exec(select(ServiceDefinition).where(ServiceDefinition.published_version.is_not(None)).order_by(ServiceDefinition.code))
    for service in services:
        yield service, designer.published_document(uow, service=service)


def _published_or_404(uow: UowDep, service_id: str) -> tuple[ServiceDefinition, dict]:
    service = uow.session.get(ServiceDefinition, service_id)
    document = designer.published_document(uow, service=service) if service else None
    if document is None:
        raise ApiError(404, "service_not_found", "No published service has this id.")
    return service, document


@router.get("/services")
def list_services(request: Request, uow: UowDep, name: str | None = None) -> list[dict]:
    lang = language(request)
    found = []
    for service, document in _published(uow):
        names = {v for v in (document.get("name") or {}).values() if isinstance(v, str)}
        if name is None or name in names:
            found.append(service_out(service, document, lang))
    return found


@router.get("/services/{service_id}")
def get_service(service_id: str, request: Request, uow: UowDep) -> list[dict]:
    # The spec documents one object; GovStack's suite expects it wrapped in an array, and that is what clients use.
    service, document = _published_or_404(uow, service_id)
    return [service_out(service, document, language(request))]


def _eform_item(row: EFormVersion, latest: bool) -> dict:
    return {"eFormId": row.eform_id, "name": row.name, "description": row.description, "version": row.version, "latest": latest}


@router.get("/services/{service_id}/eForms")
def list_service_eforms(service_id: str, uow: UowDep) -> list[dict]:
    service, document = _published_or_404(uow, service_id)
    items = []
    for eform in document.get("eforms", []):
        rows = _eform_rows(uow, eform["id"])
        current = next((r for r in rows if r.service_id == service.id and r.version == str(eform.get("version") or service.published_version)), None)
        if current is not None:
            items.append(_eform_item(current, latest=current is rows[0]))
    return items


def _eform_rows(uow: UowDep, eform_id: str) -> list[EFormVersion]:
    """Newest first: the most recently published version is the latest."""
    return list(uow.session.exec(select(EFormVersion).where(EFormVersion.eform_id == eform_id).order_by(EFormVersion.published.desc())))


@router.get("/eForms/{eform_id}")
def get_eform(eform_id: str, uow: UowDep) -> dict:
    rows = _eform_rows(uow, eform_id)
    if not rows:
        raise ApiError(404, "eform_not_found", "No e-form has this id.")
    return {**_eform_item(rows[0], latest=True), "schema": rows[0].schema_}
