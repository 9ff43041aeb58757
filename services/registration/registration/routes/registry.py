"""Our registry of approved registrations, readable by authorised parties (role or scope registry.read)."""
from fastapi import APIRouter, Depends
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration.models import RegistryRecord
from registration.routes.deps import FirstResult, SettingsDep, Utf8JSONResponse
from registration.schemas import iso

router = APIRouter(prefix="/registry/records", tags=["registry"], default_response_class=Utf8JSONResponse)


def registry_reader(caller: CallerDep, settings: SettingsDep):
    readers = settings.registry_readers
    if not (caller.has_any_role(readers) or caller.has_any_scope(readers) or caller.has_any_role(settings.admin_roles)):
        raise ApiError(403, "forbidden", "Reading the registry needs the registry.read role or scope.")
    return caller


def record_out(record: RegistryRecord) -> dict:
    return {"registrationNumber": record.registration_number, "serviceId": record.service_id, "fileId": record.file_id,
            "applicantId": record.applicant_id, "registered": iso(record.created), "data": record.data}


@router.get("", dependencies=[Depends(registry_reader)])
def list_records(uow: UowDep, serviceId: str | None = None, firstResult: FirstResult = 0, maxResult: int = 100) -> list[dict]:
    query = select(RegistryRecord).order_by(RegistryRecord.created.desc(), RegistryRecord.id)
    if serviceId is not None:
        query = query.where(RegistryRecord.service_id == serviceId)
    return [record_out(r) for r in uow.session.exec(query.offset(max(firstResult, 0)).limit(min(max(maxResult, 0), 500)))]


@router.get("/{registration_number}", dependencies=[Depends(registry_reader)])
def get_record(registration_number: str, uow: UowDep) -> dict:
    record = uow.session.exec(select(RegistryRecord).where(RegistryRecord.registration_number == registration_number)).first()
    if record is None:
        raise ApiError(404, "record_not_found", "No registry record has this number.")
    return record_out(record)
