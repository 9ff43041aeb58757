"""GovStack directory services: listClients, listMethods, allowedMethods, getOpenAPI (with and without the /r1 prefix)."""
import json
import logging
import re
import time

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from gateway.callers import client_from_headers
from gateway.models import AccessRight, Application, Member, Service
from gateway.registry import get_application
from kernel.auth import bearer_token
from kernel.db import UowDep
from kernel.errors import ApiError
from kernel.httpclient import shared_client

log = logging.getLogger(__name__)
router = APIRouter(tags=["directory"])

# Identifier rules of the GovStack reference mock (NOTES §8).
_INSTANCE_OR_CLASS = re.compile(r"^[a-zA-Z][a-zA-Z\d_:\-.]*$")
_CODE = re.compile(r"^[a-zA-Z\d][a-zA-Z\d_\-.]*$")
JSON_UTF8 = "application/json; charset=utf-8"


def _string(status: int, text: str) -> JSONResponse:
    # The compliance suite expects a bare JSON string as the body here, never an error object.
    return JSONResponse(text, status_code=status, media_type=JSON_UTF8)


def _member_item(member: Member) -> dict:
    return {"objectType": {"object_type": "MEMBER"}, "GovStackInstance": member.instance,
            "memberClass": member.member_class, "memberCode": member.code}


def _endpoints(openapi: dict) -> list[dict]:
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return [{"method": method.upper(), "path": path}
            for path, operations in (openapi.get("paths") or {}).items() if isinstance(operations, dict)
            for method in operations if method in methods]


def _service_item(member: Member, application: Application, service: Service) -> dict:
    return {"objectType": {"object_type": "SERVICE"}, "serviceType": "REST", "GovStackInstance": member.instance,
            "memberClass": member.member_class, "memberCode": member.code, "applicationCode": application.code,
            "serviceCode": service.code, "serviceVersion": service.version,
            "endpointList": {"member": _endpoints(service.openapi)}}


def _provider_services(session: Session, instance: str, member_class: str, member_code: str, code: str):
    application = get_application(session, instance=instance, member_class=member_class, member_code=member_code, code=code)
    if application is None or application.status != "approved":
        return None, None, []
    member = session.get(Member, application.member_id)
    if member.status != "approved":
        return None, None, []
    services = session.exec(select(Service).where(Service.application_id == application.id, Service.status == "approved")
                            .order_by(Service.code)).all()
    return member, application, list(services)


_OPENAPI_RETRY_SECONDS = 60.0
_openapi_misses: dict[str, float] = {}  # service id -> when fetching its document last failed


def ensure_openapi(session: Session, service: Service) -> None:
    """A building block registered without its document: fetch its published OpenAPI once and keep it."""
    if service.openapi or time.monotonic() - _openapi_misses.get(service.id, -_OPENAPI_RETRY_SECONDS) < _OPENAPI_RETRY_SECONDS:
        return
    try:
        response = shared_client().get(service.url.rstrip("/") + "/openapi.json", timeout=1.0)
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        document = None
    if isinstance(document, dict) and str(document.get("openapi", "")).startswith("3."):
        service.openapi = document
        session.add(service)
        session.commit()
        _openapi_misses.pop(service.id, None)
    else:
        # A service that is down must not slow every directory call; try again later.
        _openapi_misses[service.id] = time.monotonic()
        log.info("OpenAPI document of service %s not available yet", service.id)


@router.get("/listClients")
@router.get("/r1/listClients", include_in_schema=False)
def list_clients(uow: UowDep, instanceId: str | None = None) -> JSONResponse:
    members = uow.session.exec(select(Member).where(Member.status == "approved").order_by(Member.instance, Member.member_class, Member.code)).all()
    if instanceId:
        members = [m for m in members if m.instance == instanceId]
    by_id = {m.id: m for m in members}
    items = [_member_item(m) for m in members]
    for application in uow.session.exec(select(Application).where(Application.status == "approved").order_by(Application.code)):
        member = by_id.get(application.member_id)
        if member is not None:
            items.append({**_member_item(member), "objectType": {"object_type": "SUBSYSTEM"}, "applicationCode": application.code})
    return JSONResponse({"member": items}, media_type=JSON_UTF8)


@router.get("/{instance}/{member_class}/{member_code}/{application}/listMethods")
@router.get("/r1/{instance}/{member_class}/{member_code}/{application}/listMethods", include_in_schema=False)
def list_methods(uow: UowDep, instance: str, member_class: str, member_code: str, application: str) -> JSONResponse:
    member, app, services = _provider_services(uow.session, instance, member_class, member_code, application)
    for service in services:
        ensure_openapi(uow.session, service)
    return JSONResponse({"member": [_service_item(member, app, s) for s in services]}, media_type=JSON_UTF8)


def _proven_client(request: Request, session: Session) -> Application | None:
    """The named client application, only when the bearer token is bound to it; a header alone proves nothing."""
    key = client_from_headers(request.headers)
    token = bearer_token(request)
    if key is None or token is None:
        return None
    try:
        caller = request.app.state.caller_verifier.verify(token)
    except ApiError:
        return None
    client = get_application(session, instance=key[0], member_class=key[1], member_code=key[2], code=key[3])
    if client is None or not client.client_id or client.client_id != caller.client_id:
        return None
    return client


@router.get("/{instance}/{member_class}/{member_code}/{application}/allowedMethods")
@router.get("/r1/{instance}/{member_class}/{member_code}/{application}/allowedMethods", include_in_schema=False)
def allowed_methods(request: Request, uow: UowDep, instance: str, member_class: str, member_code: str, application: str) -> JSONResponse:
    member, app, services = _provider_services(uow.session, instance, member_class, member_code, application)
    client = _proven_client(request, uow.session)
    if client is None or not services:
        return JSONResponse({"member": []}, media_type=JSON_UTF8)
    allowed = set(uow.session.exec(select(AccessRight.service_id).where(
        AccessRight.client_application_id == client.id, AccessRight.allowed == True)).all())  # noqa: E712
    return JSONResponse({"member": [_service_item(member, app, s) for s in services if s.id in allowed]}, media_type=JSON_UTF8)


@router.get("/{instance}/{member_class}/{member_code}/{application}/getOpenAPI")
@router.get("/r1/{instance}/{member_class}/{member_code}/{application}/getOpenAPI", include_in_schema=False)
def get_openapi(uow: UowDep, instance: str, member_class: str, member_code: str, application: str,
                serviceCode: str | None = None) -> JSONResponse:
    if not (_INSTANCE_OR_CLASS.match(instance) and _INSTANCE_OR_CLASS.match(member_class)
            and _CODE.match(member_code) and _CODE.match(application)):
        return _string(400, "Invalid instance, member class, member code or application code.")
    if not serviceCode or not _CODE.match(serviceCode):
        return _string(400, "serviceCode is required and must be alphanumeric.")
    _, _, services = _provider_services(uow.session, instance, member_class, member_code, application)
    service = next((s for s in services if s.code == serviceCode), None)
    if service is None:
        return _string(404, "No such service.")
    ensure_openapi(uow.session, service)
    return _string(200, json.dumps(service.openapi, ensure_ascii=False))
