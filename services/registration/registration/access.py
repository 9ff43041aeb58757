"""Who may see which application file: the applicant all of it, operators what their roles may see."""
from dataclasses import dataclass

from sqlmodel import select

from kernel.auth import Caller
from kernel.db import UnitOfWork
from kernel.errors import ApiError
from registration import design, designer, forms
from registration.models import ApplicationFile, Document, ServiceDefinition, Task
from registration.processing import document_id_from_url, operator_roles


@dataclass
class FileView:
    """A file as one caller may see it: the applicant sees all of it, an operator what their roles may see."""

    file: ApplicationFile
    service: ServiceDefinition
    document: dict
    is_applicant: bool
    roles: list[dict]

    @property
    def classifications(self) -> set[str]:
        return {c for role in self.roles for c in role.get("sees", [])}

    def form_data(self) -> dict:
        return self.visible(self.file.form_data)

    def visible(self, data: dict) -> dict:
        """Of data captured with the file's e-form (the file's own, or its registry copy), what this caller may see."""
        if self.is_applicant:
            return dict(data)
        return forms.filter_data(data, design.eform(self.document, self.file.eform_id), self.classifications)

    def may_see_document(self, stored: Document | None) -> bool:
        """The applicant sees every document of their file; an operator those whose slot's classification one of their
        roles may see (an upload that fills no slot, or is not this file's, counts as UNCLASSIFIED)."""
        if self.is_applicant:
            return True
        return design.document_classification(self.document, stored.document_type if stored else "") in self.classifications

    def document_urls(self, uow: UnitOfWork) -> list[str]:
        """The file's documentUrls this caller may see, in their order."""
        if self.is_applicant:
            return list(self.file.document_urls)
        found = attached_documents(uow, file=self.file)
        return [url for url in self.file.document_urls if self.may_see_document(found.get(document_id_from_url(url)))]


def attached_documents(uow: UnitOfWork, *, file: ApplicationFile) -> dict[str, Document]:
    """Id -> upload, for the file's documentUrls that name the applicant's own uploads to this file (or not yet to any)."""
    ids = [document_id_from_url(url) for url in file.document_urls]
    rows = uow.session.exec(select(Document).where(Document.id.in_(ids))) if ids else []
    return {d.id: d for d in rows if d.owner_id == file.applicant_id and d.file_id in (None, file.id)}


def service_document(uow: UnitOfWork, *, service: ServiceDefinition, number: int | None) -> dict:
    if number is None:
        return designer.published_document(uow, service=service) or {}
    return designer.version(uow, service=service, number=number).document


def file_view(uow: UnitOfWork, *, file_id: str, caller: Caller, admin_roles, include_drafts: bool = False) -> FileView:
    """The file if this caller may see it; anyone else gets the same 404 as for an unknown id."""
    file = uow.session.get(ApplicationFile, file_id)
    if file is None or (file.status == "DRAFT" and not include_drafts):
        raise ApiError(404, "file_not_found", "No application file has this id.")
    service = uow.session.get(ServiceDefinition, file.service_id)
    document = service_document(uow, service=service, number=file.service_version) if service else {}
    is_applicant = file.applicant_id == caller.subject
    roles = [] if file.status == "DRAFT" else operator_roles(document, caller, admin_roles)
    if service is None or not (is_applicant or roles):
        raise ApiError(404, "file_not_found", "No application file has this id.")
    return FileView(file=file, service=service, document=document, is_applicant=is_applicant, roles=roles)


def operated_services(uow: UnitOfWork, *, caller: Caller, admin_roles) -> dict[str, list[dict]]:
    """Service id -> the roles this caller works in, over every published service."""
    found = {}
    for service in uow.session.exec(select(ServiceDefinition).where(ServiceDefinition.published_version.is_not(None))):
        roles = operator_roles(designer.published_document(uow, service=service) or {}, caller, admin_roles)
        if roles:
            found[service.id] = roles
    return found


def current_task(uow: UnitOfWork, *, file: ApplicationFile) -> Task | None:
    return uow.session.exec(select(Task).where(Task.file_id == file.id).order_by(Task.created.desc())).first()
