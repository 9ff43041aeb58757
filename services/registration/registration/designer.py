"""Designer operations on e-services (create, revise, publish, import, export), shared by the API and fixtures."""
import copy

from sqlmodel import select

from kernel.db import UnitOfWork
from kernel.errors import ApiError
from registration import design
from registration.models import EFormVersion, ServiceDefinition, ServiceVersion, utcnow


def invalid(problems: list[design.Problem], message: str = "The service document is not valid.") -> ApiError:
    return ApiError(400, "invalid_service", message, details=[p.as_dict() for p in problems])


def _require_code(document) -> str:
    """A draft may be incomplete, but it needs its code: the natural key imports and fixtures upsert by."""
    if not isinstance(document, dict):
        raise invalid([design.Problem("", "the service document must be an object")])
    problems = [p for p in design.validate_service(document) if p.field in ("code", "id")]
    if problems:
        raise invalid(problems)
    return document["code"]


def get_or_raise(uow: UnitOfWork, *, service_id: str) -> ServiceDefinition:
    service = uow.session.get(ServiceDefinition, service_id)
    if service is None:
        raise ApiError(404, "service_not_found", "No e-service has this id.")
    return service


def by_code(uow: UnitOfWork, *, code: str) -> ServiceDefinition | None:
    return uow.session.exec(select(ServiceDefinition).where(ServiceDefinition.code == code)).first()


def versions(uow: UnitOfWork, *, service_id: str) -> list[ServiceVersion]:
    return list(uow.session.exec(select(ServiceVersion).where(ServiceVersion.service_id == service_id).order_by(ServiceVersion.version)))


def version(uow: UnitOfWork, *, service: ServiceDefinition, number: int | None = None) -> ServiceVersion:
    """A given version, or the latest one."""
    query = select(ServiceVersion).where(ServiceVersion.service_id == service.id)
    query = query.where(ServiceVersion.version == number) if number is not None else query.order_by(ServiceVersion.version.desc())
    found = uow.session.exec(query).first()
    if found is None:
        raise ApiError(404, "version_not_found", "The e-service has no such version.")
    return found


def published_document(uow: UnitOfWork, *, service: ServiceDefinition) -> dict | None:
    if service.published_version is None:
        return None
    return version(uow, service=service, number=service.published_version).document


def create(uow: UnitOfWork, *, document: dict, actor: str) -> ServiceVersion:
    code = _require_code(document)
    if by_code(uow, code=code) is not None:
        raise ApiError(409, "service_exists", f"An e-service with code {code} already exists; edit it instead.")
    service = ServiceDefinition(code=code, **({"id": document["id"]} if document.get("id") else {}))
    if uow.session.get(ServiceDefinition, service.id) is not None:
        raise ApiError(409, "service_exists", "An e-service with this id already exists.")
    uow.session.add(service)
    uow.session.flush()
    return _add_version(uow, service=service, document=document, number=1, actor=actor)


def revise(uow: UnitOfWork, *, service: ServiceDefinition, document: dict, actor: str) -> ServiceVersion:
    """Every edit is a new draft version; published versions never change."""
    code = _require_code(document)
    if code != service.code or document.get("id", service.id) != service.id:
        raise invalid([design.Problem("code" if code != service.code else "id", "cannot change once the e-service exists")])
    latest = version(uow, service=service)
    return _add_version(uow, service=service, document=document, number=latest.version + 1, actor=actor)


def _add_version(uow: UnitOfWork, *, service: ServiceDefinition, document: dict, number: int, actor: str) -> ServiceVersion:
    stored = copy.deepcopy(document)
    stored["id"] = service.id
    row = ServiceVersion(service_id=service.id, version=number, document=stored, created_by=actor)
    service.updated = utcnow()
    uow.session.add(row)
    uow.session.add(service)
    uow.session.flush()
    return row


def publish(uow: UnitOfWork, *, service: ServiceDefinition, number: int | None = None) -> ServiceVersion:
    row = version(uow, service=service, number=number)
    problems = design.validate_service(row.document)
    if problems:
        raise invalid(problems, "The version cannot be published until these problems are fixed.")
    for eform in row.document["eforms"]:
        form_version = str(eform.get("version") or row.version)
        existing = uow.session.exec(select(EFormVersion).where(
            EFormVersion.eform_id == eform["id"], EFormVersion.version == form_version, EFormVersion.service_id == service.id)).first()
        stored = existing or EFormVersion(eform_id=eform["id"], version=form_version, service_id=service.id)
        stored.name, stored.description, stored.schema_ = eform["name"], design.text(eform.get("description")), eform["schema"]
        stored.published = utcnow()
        uow.session.add(stored)
    if row.published is None:
        row.published = utcnow()
    service.published_version = row.version
    uow.session.add_all([row, service])
    uow.session.flush()
    return row


def import_document(uow: UnitOfWork, *, document: dict, actor: str, publish_it: bool) -> ServiceVersion:
    """Create or revise by code; importing the same document again changes nothing."""
    code = _require_code(document)
    if publish_it:
        problems = design.validate_service(document)
        if problems:
            raise invalid(problems)  # checked before anything is stored
    service = by_code(uow, code=code)
    if service is None:
        row = create(uow, document=document, actor=actor)
        service = uow.session.get(ServiceDefinition, row.service_id)
    else:
        row = version(uow, service=service)
        if row.document != {**document, "id": service.id}:
            row = revise(uow, service=service, document={**document, "id": document.get("id", service.id)}, actor=actor)
    if publish_it and service.published_version != row.version:
        publish(uow, service=service, number=row.version)
    return row


def export_document(row: ServiceVersion) -> dict:
    return copy.deepcopy(row.document)
