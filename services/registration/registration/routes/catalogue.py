"""Public catalogue extension: what a portal needs to present a published e-service in Lao and English.

The GovStack e-form API gives the JSON Schema only; this adds field labels, layout hints, document slots with their
limits, fees and the data agreement of a require_consent step. Service design data only: nothing about applicants.
"""
from fastapi import APIRouter
from sqlmodel import select

from kernel.db import UowDep
from kernel.errors import ApiError
from registration import design, designer
from registration.models import ServiceDefinition
from registration.routes.deps import Utf8JSONResponse

router = APIRouter(prefix="/catalogue", tags=["catalogue"], default_response_class=Utf8JSONResponse)


def _both(value) -> dict:
    """A translatable text as {lo, en}; designs carry both, older plain strings serve both languages."""
    return {"lo": design.text(value, "lo"), "en": design.text(value, "en")}


def _fees(document: dict) -> list[dict]:
    return [{"registration": registration.get("code", ""), "label": _both(fee.get("label")), "amount": fee.get("amount"),
             "currency": fee.get("currency"), "perField": fee.get("per_field")}
            for registration in document.get("registrations", []) for fee in registration.get("fees") or []]


def _consent(document: dict) -> dict | None:
    step = design.has_step(document, "require_consent")
    return {"dataAgreementId": step["agreement_id"]} if step else None


def _summary(service: ServiceDefinition, document: dict) -> dict:
    return {"id": service.id, "code": service.code, "version": service.published_version, "name": _both(document.get("name")),
            "description": _both(document.get("description")), "fees": _fees(document), "consent": _consent(document)}


def _options(spec: dict, field: dict) -> list[dict]:
    """An enum field's values in the schema's order, each with its label (the value itself where the design gives none)."""
    labels = field.get("options") or {}
    return [{"value": value, "label": _both(labels.get(str(value)) or str(value))} for value in spec.get("enum") or []]


def _fields(eform: dict) -> list[dict]:
    """The form's fields in layout order (schema order breaks ties), with labels, layout hints and enum option labels."""
    described = eform.get("fields") or {}
    properties = (eform.get("schema") or {}).get("properties") or {}
    fields = []
    for position, (name, spec) in enumerate(properties.items()):
        field = described.get(name) or {}
        layout = field.get("layout") or {}
        fields.append({"name": name, "label": _both(field.get("label") or name), "section": layout.get("section"),
                       "order": layout.get("order", position), "widget": layout.get("widget"), "_position": position})
        if isinstance(spec, dict) and "enum" in spec:
            fields[-1]["options"] = _options(spec, field)
    fields.sort(key=lambda f: (f["order"] if isinstance(f["order"], int) else f["_position"], f["_position"]))
    return [{k: v for k, v in f.items() if k != "_position"} for f in fields]


def _detail(service: ServiceDefinition, document: dict) -> dict:
    return {
        **_summary(service, document),
        "registrations": [{"code": r.get("code", ""), "name": _both(r.get("name")),
                           "determinants": [{"description": _both(d.get("description")), "obligation": d.get("obligation"),
                                             "condition": d.get("condition")}
                                            for d in r.get("determinants") or []]}
                          for r in document.get("registrations", [])],
        "eForms": [{"eFormId": e.get("id"), "name": e.get("name"), "version": str(e.get("version") or service.published_version),
                    "sections": [{"id": section.get("id"), "title": _both(section.get("title"))} for section in e.get("sections") or []],
                    "fields": _fields(e)} for e in document.get("eforms", [])],
        "documents": [{"type": d.get("type"), "label": _both(d.get("label")), "contentTypes": d.get("content_types", []),
                       "maxBytes": d.get("max_bytes"), "required": bool(d.get("required", False))}
                      for d in document.get("documents", [])],
    }


@router.get("/services")
def list_catalogue(uow: UowDep) -> list[dict]:
    """Every published e-service, in both languages."""
    services = uow.session.exec(select(ServiceDefinition).where(ServiceDefinition.published_version.is_not(None))
                                .order_by(ServiceDefinition.code))
    return [_summary(service, designer.published_document(uow, service=service)) for service in services]


@router.get("/services/{service_id}")
def get_catalogue_entry(service_id: str, uow: UowDep) -> dict:
    service = uow.session.get(ServiceDefinition, service_id) if len(service_id) <= 64 else None
    document = designer.published_document(uow, service=service) if service else None
    if document is None:  # a draft-only service is not in the catalogue
        raise ApiError(404, "service_not_found", "No published service has this id.")
    return _detail(service, document)
