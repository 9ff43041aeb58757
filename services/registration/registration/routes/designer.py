"""Our designer API (GovStack leaves it open): e-services as versioned documents, validated, published, exported."""
import yaml
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from sqlmodel import select

from kernel import safejson
from kernel.auth import require
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import design, designer
from registration.models import ServiceDefinition, ServiceVersion
from registration.routes.deps import CurrentService, Utf8JSONResponse, refuse_non_finite

router = APIRouter(prefix="/designer/services", tags=["designer"], default_response_class=Utf8JSONResponse)
Designer = require(roles=("designer", "admin"))

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


async def _document(request: Request) -> dict:
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if content_type in _YAML_TYPES:
            document = safejson.load_yaml(raw)
            if safejson.unsafe_text(document):
                raise safejson.UnsafeJson("NUL character or lone surrogate")
        else:
            document = safejson.loads(raw or b"null")
    except RecursionError:  # YAML nested deeper than its recursive composer goes
        raise ApiError(400, "malformed_body", "The service document is nested too deeply.", details=[{"field": "body", "reason": "too deep"}])
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiError(400, "malformed_body", "The service document cannot be parsed.", details=[{"field": "body", "reason": type(exc).__name__}])
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_body", "The service document must be an object.", details=[{"field": "body", "reason": "must be an object"}])
    refuse_non_finite(document, "body")  # YAML's .inf and JSON's 1e400 alike
    return document


def _summary(service: ServiceDefinition, row: ServiceVersion) -> dict:
    problems = design.validate_service(row.document)
    return {"id": service.id, "code": service.code, "version": row.version, "publishedVersion": service.published_version,
            "published": row.published is not None, "valid": not problems, "problems": [p.as_dict() for p in problems],
            # Valid or not, what counts as sensitive_personal for want of a classification (designs from before slots had one).
            "unclassified": design.unclassified(row.document)}


@router.get("", dependencies=[Designer])
def list_designs(uow: UowDep) -> list[dict]:
    services = uow.session.exec(select(ServiceDefinition).order_by(ServiceDefinition.code)).all()
    return [{"id": s.id, "code": s.code, "publishedVersion": s.published_version,
             "latestVersion": designer.version(uow, service=s).version} for s in services]


# Endpoints with a body read it on the event loop and do their database work in a worker thread (see documents.py).
@router.post("", status_code=201, dependencies=[Designer])
async def create_design(request: Request, uow: UowDep, caller=Designer) -> dict:
    document = await _document(request)
    return await run_in_threadpool(_create, uow, document, caller.subject)


def _create(uow, document: dict, actor: str) -> dict:
    row = designer.create(uow, document=document, actor=actor)
    service = uow.session.get(ServiceDefinition, row.service_id)
    uow.commit()
    return _summary(service, row)


@router.post("/import", dependencies=[Designer])
async def import_design(request: Request, uow: UowDep, publish: bool = False, caller=Designer) -> dict:
    document = await _document(request)
    return await run_in_threadpool(_import, uow, document, caller.subject, publish)


def _import(uow, document: dict, actor: str, publish: bool) -> dict:
    row = designer.import_document(uow, document=document, actor=actor, publish_it=publish)
    service = uow.session.get(ServiceDefinition, row.service_id)
    uow.commit()
    return _summary(service, row)


@router.post("/validate", dependencies=[Designer])
async def validate_document(request: Request) -> dict:
    """Every problem of a service document, without storing it: the designer console's live validation."""
    problems = design.validate_service(await _document(request))
    return {"valid": not problems, "problems": [p.as_dict() for p in problems]}


@router.get("/{service_id}", dependencies=[Designer])
def get_design(service: CurrentService, uow: UowDep) -> dict:
    rows = designer.versions(uow, service_id=service.id)
    return {**_summary(service, rows[-1]), "document": rows[-1].document,
            "versions": [{"version": r.version, "created": r.created, "published": r.published, "createdBy": r.created_by} for r in rows]}


@router.put("/{service_id}", dependencies=[Designer])
async def revise_design(request: Request, service: CurrentService, uow: UowDep, caller=Designer) -> dict:
    document = await _document(request)
    return await run_in_threadpool(_revise, uow, service, document, caller.subject)


def _revise(uow, service, document: dict, actor: str) -> dict:
    row = designer.revise(uow, service=service, document=document, actor=actor)
    uow.commit()
    return _summary(service, row)


@router.post("/{service_id}/validate", dependencies=[Designer])
def validate_design(service: CurrentService, uow: UowDep, version: int | None = None) -> dict:
    return _summary(service, designer.version(uow, service=service, number=version))


@router.post("/{service_id}/publish", dependencies=[Designer])
def publish_design(service: CurrentService, uow: UowDep, version: int | None = None) -> dict:
    row = designer.publish(uow, service=service, number=version)
    uow.commit()
    return _summary(service, row)


@router.get("/{service_id}/export", dependencies=[Designer])
def export_design(service: CurrentService, uow: UowDep, version: int | None = None, format: str = "json") -> Response:
    document = designer.export_document(designer.version(uow, service=service, number=version))
    if format == "yaml":
        return Response(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), media_type="application/yaml; charset=utf-8")
    if format != "json":
        raise ApiError(400, "invalid_format", "format must be json or yaml.", details=[{"field": "format", "reason": "must be json or yaml"}])
    return Utf8JSONResponse(document)
