"""Configuration and rights management (GovStack IM Configuration Management API) plus service settings and the audit log."""
import base64
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psutil
import yaml
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool

from gateway.models import AccessRight, Application, AuditEntry, Member, Service
from gateway.registry import (audit, get_application, get_member, get_service, set_right, upsert_application, upsert_member,
                              upsert_service)
from gateway.routes.deps import AdminDep, AuditedRoute, AuditReaderDep, admin_with
from gateway.schemas import AllowList, AuditRead, IMconf, IMconfRight, RightHolder, ServiceAccessRight, ServiceRead, ServiceUpdate
from kernel import safejson
from kernel.db import UowDep
from kernel.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["management"], route_class=AuditedRoute)
ReadRights = admin_with("read:rights")
WriteRights = admin_with("write:rights")
ReadConf = admin_with("read:conf")
WriteConf = admin_with("write:conf", "create:conf")
ReplaceConf = admin_with("create:conf")


@router.get("/status")
def get_status(request: Request, uow: UowDep) -> dict:
    members = uow.session.exec(select(func.count()).select_from(Member).where(Member.status == "approved")).one()
    return {"status": "running", "instance": request.app.state.settings.instance, "members": members}


# --- services ---------------------------------------------------------------------------------------------------

def _service_or_404(session, instance, member_class, member_code, application, service_code) -> Service:
    app = get_application(session, instance=instance, member_class=member_class, member_code=member_code, code=application)
    service = get_service(session, application=app, code=service_code) if app else None
    if service is None:
        raise ApiError(404, "unknown_service", "No such service.")
    return service


@router.patch("/services/{instance}/{member_class}/{member_code}/{application}/{service_code}", response_model_by_alias=True)
def update_service(instance: str, member_class: str, member_code: str, application: str, service_code: str,
                   body: ServiceUpdate, request: Request, uow: UowDep, admin: AdminDep) -> ServiceRead:
    """Enable or disable a service, move it, or mark it as carrying personal data of a data agreement."""
    service = _service_or_404(uow.session, instance, member_class, member_code, application, service_code)
    changes = body.model_dump(exclude_unset=True)
    if "openapi" in changes and changes["openapi"] and not str(changes["openapi"].get("openapi", "")).startswith("3."):
        raise ApiError(400, "invalid_openapi", "The service description must be an OpenAPI 3 document.")
    for field, column in (("enabled", "enabled"), ("service_url", "url"), ("openapi", "openapi"),
                          ("data_agreement_id", "data_agreement_id"), ("consent_path_prefix", "consent_path_prefix")):
        if field in changes and (changes[field] is not None or field in ("data_agreement_id", "consent_path_prefix")):
            setattr(service, column, changes[field])
    uow.session.add(service)
    name = f"{instance}/{member_class}/{member_code}/{application}/{service_code}"
    audit(uow.session, actor=admin.subject, action="update service", target=name,
          changes=sorted(k for k in changes if k != "openapi") + (["openapi"] if "openapi" in changes else []))
    uow.commit()
    request.app.state.directory.invalidate()
    return ServiceRead(id=service.id, name=name, service_url=service.url, enabled=service.enabled, status=service.status,
                       data_agreement_id=service.data_agreement_id, consent_path_prefix=service.consent_path_prefix)


# --- access rights -----------------------------------------------------------------------------------------------

def _rights_rows(session, *, allowed: bool):
    """(provider member, provider application, service, client member, client application) for each right."""
    query = (select(Member, Application, Service, AccessRight).join(Application, Application.member_id == Member.id)
             .join(Service, Service.application_id == Application.id).join(AccessRight, AccessRight.service_id == Service.id)
             .where(AccessRight.allowed == allowed).order_by(Member.member_class, Member.code, Application.code, Service.code, AccessRight.id))
    for member, app, service, right in session.exec(query):
        client = session.get(Application, right.client_application_id)
        yield member, app, service, session.get(Member, client.member_id), client


@router.get("/rights/allow")
def get_allowed(uow: UowDep, caller: ReadRights, memberClass: str | None = None, memberCode: str | None = None,
                applicationId: str | None = None, serviceId: str | None = None,
                pageSize: int = Query(100, ge=1, le=1000), nextPageToken: str | None = None) -> JSONResponse:
    try:
        offset = int(base64.urlsafe_b64decode(nextPageToken.encode()).decode()) if nextPageToken else 0
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", "nextPageToken is not one this API issued.")
    rows = [r for r in _rights_rows(uow.session, allowed=True)
            if (memberClass is None or r[0].member_class == memberClass) and (memberCode is None or r[0].code == memberCode)
            and (applicationId is None or r[1].code == applicationId) and (serviceId is None or r[2].code == serviceId)]
    page = rows[offset:offset + pageSize]  # pageSize counts (service, client) pairs, as the spec says
    grouped: dict[str, ServiceAccessRight] = {}
    for member, app, service, client_member, client in page:
        item = grouped.setdefault(service.id, ServiceAccessRight(
            instance_id=member.instance, member_class=member.member_class, member_code=member.code,
            application_id=app.code, service_id=service.code, rights=[]))
        item.rights.append(RightHolder(instance_id=client_member.instance, member_class=client_member.member_class,
                                       member_code=client_member.code, application_id=client.code))
    body = AllowList(allowList=list(grouped.values()))
    if offset + pageSize < len(rows):
        body.nextPageToken = base64.urlsafe_b64encode(str(offset + pageSize).encode()).decode()
    return JSONResponse(body.model_dump(by_alias=True, exclude_none=True))


def _change_rights(request: Request, uow, caller, body: list[ServiceAccessRight], allowed: bool) -> dict:
    settings = request.app.state.settings
    changes = []
    for item in body:
        instance = item.instance_id or settings.instance
        service = _service_or_404(uow.session, instance, item.member_class, item.member_code, item.application_id, item.service_id)
        for holder in item.rights:
            client_instance = holder.instance_id or instance  # a client in another instance is named with its own
            client = get_application(uow.session, instance=client_instance, member_class=holder.member_class,
                                     member_code=holder.member_code, code=holder.application_id)
            if client is None:
                raise ApiError(404, "unknown_client", f"Unknown client application "
                                                      f"{client_instance}/{holder.member_class}/{holder.member_code}/{holder.application_id}.")
            set_right(uow.session, service=service, client=client, allowed=allowed)
            changes.append(f"{client_instance}/{holder.member_class}/{holder.member_code}/{holder.application_id}"
                           f" -> {instance}/{item.member_class}/{item.member_code}/{item.application_id}/{item.service_id}")
    for change in changes:
        audit(uow.session, actor=caller.subject, action="allow" if allowed else "deny", target=change)
    uow.commit()
    request.app.state.directory.invalidate()
    return {"changed": len(changes)}


@router.patch("/rights/allow")
def set_allowed(body: list[ServiceAccessRight], request: Request, uow: UowDep, caller: WriteRights) -> dict:
    return _change_rights(request, uow, caller, body, True)


@router.patch("/rights/deny")
def set_denied(body: list[ServiceAccessRight], request: Request, uow: UowDep, caller: WriteRights) -> dict:
    return _change_rights(request, uow, caller, body, False)


# --- configuration (IMconf) --------------------------------------------------------------------------------------

def _config(session, settings) -> dict:
    members = []
    for member in session.exec(select(Member).where(Member.status == "approved").order_by(Member.member_class, Member.code, Member.instance)):
        applications = []
        for app in session.exec(select(Application).where(Application.member_id == member.id, Application.status == "approved")
                                .order_by(Application.code)):
            services = []
            for service in session.exec(select(Service).where(Service.application_id == app.id, Service.status == "approved")
                                        .order_by(Service.code)):
                rights = []
                for right in session.exec(select(AccessRight).where(AccessRight.service_id == service.id, AccessRight.allowed == True)  # noqa: E712
                                          .order_by(AccessRight.id)):
                    client = session.get(Application, right.client_application_id)
                    client_member = session.get(Member, client.member_id)
                    # The client's full id: it may be in another instance than the provider, and names are not unique.
                    rights.append({"member": f"{client_member.instance}/{client_member.member_class}/{client_member.code}",
                                   "application": client.code})
                services.append({"id": service.code, "serviceUrl": service.url, "enabled": service.enabled, "rights": rights})
            applications.append({"id": app.code, "connection": app.connection, "clientId": app.client_id, "room": app.is_room,
                                 "tlsClientCert": app.tls_client_cert, "services": services})
        members.append({"name": member.name, "class": member.member_class, "code": member.code, "instance": member.instance,
                        "applications": applications})
    return {"instance": settings.instance, "members": members}


@dataclass
class Described:
    """What an IMconf document names: ids of its members, applications and services, and its (service, client) rights."""

    members: set[str] = field(default_factory=set)
    applications: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    rights: set[tuple[str, str]] = field(default_factory=set)
    unbound: list[str] = field(default_factory=list)  # applications a replacement took a clientId or tlsClientCert from
    reset: list[str] = field(default_factory=list)  # applications whose connection or room a replacement changed
    enabled: list[str] = field(default_factory=list)  # disabled services a replacement enabled


def _right_holder(session, *, provider_instance: str, right: IMconfRight) -> Application:
    """The client application a right names: its member as INSTANCE/CLASS/CODE, CLASS/CODE (in the provider's instance)
    or, as in the spec, by name when exactly one approved member has that name."""
    parts = right.member.split("/")
    member = None
    if len(parts) in (2, 3) and all(parts):
        instance, member_class, code = parts if len(parts) == 3 else [provider_instance, *parts]
        member = get_member(session, instance=instance, member_class=member_class, code=code)
    if member is None:
        named = session.exec(select(Member).where(Member.name == right.member, Member.status == "approved").limit(2)).all()
        if len(named) > 1:
            raise ApiError(400, "invalid_request", f"More than one member is named {right.member}: name it as CLASS/CODE.")
        member = named[0] if named else None
    if member is not None:
        client = session.exec(select(Application).where(Application.member_id == member.id, Application.code == right.application)).first()
        if client is not None:
            return client
    raise ApiError(400, "invalid_request", f"Right for unknown application {right.member}/{right.application}.")


def _apply_config(session, settings, document: IMconf, *, replace: bool = False) -> Described:
    """Merge an IMconf document: members, applications, services, then rights (clients may be defined later in it).
    A merge keeps what the document leaves out of an entry (clientId, tlsClientCert, connection, room, enabled); a
    replacement sets it as the document has it, the default when left out (no binding, https, not a room, enabled)."""
    default_instance = document.instance or settings.instance
    pending_rights, described = [], Described()
    for m in document.members:
        instance = m.instance or default_instance
        member = upsert_member(session, instance=instance, member_class=m.member_class, code=m.code, name=m.name)
        member.status = "approved"
        described.members.add(member.id)
        for a in m.applications:
            app = upsert_application(session, member=member, code=a.id, client_id=a.client_id, connection=a.connection,
                                     is_room=a.room, tls_client_cert=a.tls_client_cert)
            app_name = f"{member.instance}/{member.member_class}/{member.code}/{app.code}"
            if replace and (app.client_id, app.tls_client_cert) != (a.client_id, a.tls_client_cert):
                if (app.client_id and not a.client_id) or (app.tls_client_cert and not a.tls_client_cert):
                    described.unbound.append(app_name)
                app.client_id, app.tls_client_cert = a.client_id, a.tls_client_cert
            if replace:
                # Left out means the default (the spec's connection https; not a room), as for everything a replacement
                # does not describe.
                connection, is_room = a.connection or "https", bool(a.room)
                if (app.connection, app.is_room) != (connection, is_room):
                    described.reset.append(app_name)
                app.connection, app.is_room = connection, is_room
            app.status = "approved"
            described.applications.add(app.id)
            for s in a.services:
                service = upsert_service(session, application=app, code=s.id, url=s.service_url)
                service.status = "approved"
                if s.enabled is not None or replace:  # a replacement without `enabled` enables it (the default)
                    enabled = s.enabled is not False
                    if replace and enabled and not service.enabled:
                        described.enabled.append(f"{app_name}/{service.code}")
                    service.enabled = enabled
                described.services.add(service.id)
                pending_rights += [(instance, service, r) for r in s.rights]
    session.flush()
    for instance, service, r in pending_rights:
        client = _right_holder(session, provider_instance=instance, right=r)
        set_right(session, service=service, client=client, allowed=True)
        described.rights.add((service.id, client.id))
    return described


def _remove_undescribed(session, described: Described) -> dict[str, int]:
    """PUT semantics: what the document does not name goes. Entries are marked removed, not deleted, because the logs and
    pub/sub history refer to them; describing one again brings it back. Rights are plain rows and are deleted."""
    removed = {"members": 0, "applications": 0, "services": 0, "rights": 0}
    for table, ids, key in ((Member, described.members, "members"), (Application, described.applications, "applications"),
                            (Service, described.services, "services")):
        for row in session.exec(select(table).where(table.status == "approved")):
            if row.id not in ids:
                row.status = "removed"
                session.add(row)
                removed[key] += 1
    for right in session.exec(select(AccessRight)):
        if (right.service_id, right.client_application_id) not in described.rights:
            session.delete(right)
            removed["rights"] += 1
    return removed


@router.get("/config")
def get_config(request: Request, uow: UowDep, caller: ReadConf) -> dict:
    return _config(uow.session, request.app.state.settings)


async def _document(request: Request) -> IMconf:
    raw = await request.body()
    try:
        if "yaml" in request.headers.get("content-type", ""):
            document = safejson.load_yaml(raw)
            if safejson.unsafe_text(document):
                raise safejson.UnsafeJson("NUL character or lone surrogate")
        else:
            document = safejson.loads(raw)  # deep nesting, NUL and lone surrogates are a ValueError too
    except (ValueError, RecursionError, yaml.YAMLError):
        raise ApiError(400, "invalid_request", "The configuration is not valid JSON or YAML.")
    try:
        return IMconf.model_validate(document)
    except ValidationError as exc:
        # Answered like any other invalid request body: 400 with each failing field, the values not echoed.
        raise RequestValidationError(exc.errors(include_input=False, include_url=False))


# Two operations of the spec (createIMconf, updateIMconf), one behaviour: each needs its own operation id.
@router.post("/config", status_code=201, name="create_config")
@router.patch("/config", status_code=201, name="update_config")
async def merge_config(request: Request, caller: WriteConf) -> JSONResponse:
    document = await _document(request)

    def apply() -> int:
        with Session(request.app.state.engine) as session:
            count = len(_apply_config(session, request.app.state.settings, document).services)
            audit(session, actor=caller.subject, action="merge config", target="config", services=count)
            session.commit()
            return count

    count = await run_in_threadpool(apply)
    request.app.state.directory.invalidate()
    return JSONResponse(f"configuration merged: {count} services", status_code=201)


@router.put("/config", status_code=201)
async def replace_config(request: Request, caller: ReplaceConf) -> JSONResponse:
    """Replace the configuration: the document's entries are kept or created, everything else is removed (IM spec PUT)."""
    document = await _document(request)

    def apply() -> dict[str, int]:
        with Session(request.app.state.engine) as session:
            described = _apply_config(session, request.app.state.settings, document, replace=True)
            session.flush()
            removed = _remove_undescribed(session, described)
            audit(session, actor=caller.subject, action="replace config", target="config", services=len(described.services),
                  removed=removed, unbound=described.unbound, reset=described.reset, enabled=described.enabled)
            session.commit()
            return removed

    removed = await run_in_threadpool(apply)
    request.app.state.directory.invalidate()
    return JSONResponse(f"configuration replaced: {removed['members']} members, {removed['applications']} applications, "
                        f"{removed['services']} services and {removed['rights']} rights removed", status_code=201)


# --- audit log and monitoring ------------------------------------------------------------------------------------

@router.get("/audit", response_model_by_alias=True)
def list_audit(uow: UowDep, reader: AuditReaderDep, after: int = 0, limit: int = Query(100, ge=1, le=1000)) -> list[AuditRead]:
    entries = uow.session.exec(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit))
    return [AuditRead(seq=e.seq, at=e.at.isoformat(), actor=e.actor, action=e.action, target=e.target, outcome=e.outcome,
                      details=e.details) for e in entries]


@router.get("/monitoring/environmental")
def environmental_data(admin: admin_with("read:monitoring")) -> dict:
    memory, disk = psutil.virtual_memory(), psutil.disk_usage("/")
    return {
        "at": datetime.now(timezone.utc).isoformat(),
        "os": {"system": platform.system(), "release": platform.release(), "python": platform.python_version()},
        "cpu": {"count": psutil.cpu_count(), "percent": psutil.cpu_percent(interval=None), "load": list(psutil.getloadavg())},
        "memory": {"total": memory.total, "available": memory.available, "percent": memory.percent},
        "disk": {"total": disk.total, "free": disk.free, "percent": disk.percent},
        "network": {k: v for k, v in psutil.net_io_counters()._asdict().items() if k in ("bytes_sent", "bytes_recv")},
        "processes": len(psutil.pids()),
    }
