"""The certificate of an approved registration, for its applicant and the file's operators, and the key to check it."""
from fastapi import APIRouter
from sqlmodel import select

from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, certificates, processing
from registration.models import RegistryRecord, utcnow
from registration.routes.deps import SettingsDep, Utf8JSONResponse

router = APIRouter(tags=["certificates"], default_response_class=Utf8JSONResponse)


@router.get("/applications/{file_id}/certificate")
def get_certificate(file_id: str, uow: UowDep, caller: CallerDep, settings: SettingsDep) -> Utf8JSONResponse:
    """A signed JSON record (JWS compact in `certificate`, its content in `record`), served as a download."""
    view = access.file_view(uow, file_id=file_id, caller=caller, admin_roles=settings.admin_roles)
    registry = uow.session.exec(select(RegistryRecord).where(RegistryRecord.file_id == view.file.id)).first()
    if view.file.status != "APPROVED" or registry is None:
        raise ApiError(409, "no_certificate", "Only an approved application written to the registry has a certificate.")
    # An operator's certificate states only the fields their roles may see, as the file view does.
    content = certificates.record(file=view.file, registry=registry, document=view.document, data=view.visible(registry.data),
                                  issuer=settings.public_url, issued=utcnow())
    processing.history(uow, file=view.file, action="certificate", actor=caller.subject)
    uow.commit()
    filename = f"{registry.registration_number}.json"
    return Utf8JSONResponse({"certificate": certificates.sign(content, settings.certificate_private_jwk), "record": content},
                            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@router.get("/certificates/keys")
def get_certificate_keys(settings: SettingsDep) -> dict:
    """Public: the JWKS that checks certificates."""
    return certificates.public_keys(settings.certificate_private_jwk)
