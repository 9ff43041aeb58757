"""Registration of members, applications and services: requested by a member, approved by an administrator."""
from typing import Literal

from fastapi import APIRouter, Request
from sqlmodel import select

from gateway.models import Application, Member, Service
from gateway.registry import audit, get_application, get_member, get_service
from gateway.routes.deps import AdminDep, AuditedRoute, RequesterDep
from gateway.schemas import ApplicationRegistration, MemberRegistration, RegistrationRead, ServiceRegistration
from kernel.db import UowDep
from kernel.errors import ApiError

router = APIRouter(prefix="/api/v1/registrations", tags=["registrations"], route_class=AuditedRoute)
Kind = Literal["member", "application", "service"]
TABLES = {"member": Member, "application": Application, "service": Service}


def _name(session, kind: str, row) -> str:
    if kind == "member":
        return f"{row.instance}/{row.member_class}/{row.code}"
    if kind == "application":
        return f"{_name(session, 'member', session.get(Member, row.member_id))}/{row.code}"
    return f"{_name(session, 'application', session.get(Application, row.application_id))}/{row.code}"


def _read(session, kind: str, row) -> RegistrationRead:
    return RegistrationRead(kind=kind, id=row.id, name=_name(session, kind, row), status=row.status)


def _member_or_404(session, request: Request, body) -> Member:
    instance = body.instance_id or request.app.state.settings.instance
    member = get_member(session, instance=instance, member_class=body.member_class, code=body.member_code)
    if member is None or member.status == "rejected":
        raise ApiError(404, "unknown_member", "Register the member first.")
    return member


@router.post("/members", status_code=202, response_model_by_alias=True)
def request_member(body: MemberRegistration, request: Request, uow: UowDep, caller: RequesterDep) -> RegistrationRead:
    instance = body.instance_id or request.app.state.settings.instance
    if get_member(uow.session, instance=instance, member_class=body.member_class, code=body.member_code) is not None:
        raise ApiError(409, "conflict", "This member is registered already.")
    member = Member(instance=instance, member_class=body.member_class, code=body.member_code, name=body.name)
    uow.session.add(member)
    audit(uow.session, actor=caller.subject, action="request member", target=f"{instance}/{body.member_class}/{body.member_code}")
    uow.commit()
    return _read(uow.session, "member", member)


@router.post("/applications", status_code=202, response_model_by_alias=True)
def request_application(body: ApplicationRegistration, request: Request, uow: UowDep, caller: RequesterDep) -> RegistrationRead:
    member = _member_or_404(uow.session, request, body)
    if uow.session.exec(select(Application).where(Application.member_id == member.id, Application.code == body.application_code)).first():
        raise ApiError(409, "conflict", "This application is registered already.")
    application = Application(member_id=member.id, code=body.application_code, client_id=body.client_id, connection=body.connection,
                              is_room=body.room)
    uow.session.add(application)
    audit(uow.session, actor=caller.subject, action="request application", target=application.code, client_id=body.client_id)
    uow.commit()
    return _read(uow.session, "application", application)


@router.post("/services", status_code=202, response_model_by_alias=True)
def request_service(body: ServiceRegistration, request: Request, uow: UowDep, caller: RequesterDep) -> RegistrationRead:
    instance = body.instance_id or request.app.state.settings.instance
    application = get_application(uow.session, instance=instance, member_class=body.member_class,
                                  member_code=body.member_code, code=body.application_code)
    if application is None or application.status == "rejected":
        raise ApiError(404, "unknown_application", "Register the application first.")
    if get_service(uow.session, application=application, code=body.service_code) is not None:
        raise ApiError(409, "conflict", "This service is registered already.")
    if body.openapi and not str(body.openapi.get("openapi", "")).startswith("3."):
        raise ApiError(400, "invalid_openapi", "The service description must be an OpenAPI 3 document.")
    service = Service(application_id=application.id, code=body.service_code, url=body.service_url, openapi=body.openapi,
                      version=body.service_version)
    uow.session.add(service)
    audit(uow.session, actor=caller.subject, action="request service", target=body.service_code)
    uow.commit()
    return _read(uow.session, "service", service)


@router.get("", response_model_by_alias=True)
def list_registrations(uow: UowDep, admin: AdminDep, status: str = "requested") -> list[RegistrationRead]:
    return [_read(uow.session, kind, row) for kind, table in TABLES.items()
            for row in uow.session.exec(select(table).where(table.status == status))]


def _decide(request: Request, uow, admin, kind: str, registration_id: str, status: str) -> RegistrationRead:
    row = uow.session.get(TABLES[kind], registration_id)
    if row is None:
        raise ApiError(404, "not_found", "No such registration.")
    row.status = status
    uow.session.add(row)
    audit(uow.session, actor=admin.subject, action=f"{status} {kind}", target=_name(uow.session, kind, row))
    uow.commit()
    request.app.state.directory.invalidate()
    return _read(uow.session, kind, row)


@router.post("/{kind}/{registration_id}/approve", response_model_by_alias=True)
def approve_registration(kind: Kind, registration_id: str, request: Request, uow: UowDep, admin: AdminDep) -> RegistrationRead:
    return _decide(request, uow, admin, kind, registration_id, "approved")


@router.post("/{kind}/{registration_id}/reject", response_model_by_alias=True)
def reject_registration(kind: Kind, registration_id: str, request: Request, uow: UowDep, admin: AdminDep) -> RegistrationRead:
    return _decide(request, uow, admin, kind, registration_id, "rejected")
