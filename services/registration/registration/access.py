"""Who may see which application file: the applicant all of it, operators what their roles may see."""
from dataclasses import dataclass

from sqlmodel import select

from kernel.auth import Caller
from kernel.db import UnitOfWork
from kernel.errors import ApiError
from registration import design, designer, forms
from registration.models import ApplicationFile, ServiceDefinition, Task
from registration.processing import operator_roles


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
