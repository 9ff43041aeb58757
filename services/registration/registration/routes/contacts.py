"""For other building blocks, not citizens: where to notify an application's applicant (the Messaging BB's lookup)."""
from fastapi import APIRouter

from kernel.auth import Caller, require
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import access, design
from registration.models import ApplicationFile, ServiceDefinition
from registration.routes.deps import Utf8JSONResponse

NOTIFICATION_SCOPE = "notification.read"

router = APIRouter(tags=["notification-contacts"], default_response_class=Utf8JSONResponse)


def _service_caller(caller: Caller) -> None:
    # Only a client-credentials token (subject = the client itself) names a building block; a person's token must not
    # read contacts even if it somehow carries the scope.
    if not caller.client_id or caller.subject != caller.client_id:
        raise ApiError(403, "service_token_required", "Only a building block's service token may read notification contacts.")


@router.get("/applications/{file_id}/notification-contact")
def get_notification_contact(file_id: str, uow: UowDep, caller: Caller = require(scopes=(NOTIFICATION_SCOPE,))) -> dict:
    """The applicant's language and the contacts from the fields the e-service marks as contact fields."""
    _service_caller(caller)
    file = uow.session.get(ApplicationFile, file_id)
    service = uow.session.get(ServiceDefinition, file.service_id) if file is not None else None
    if file is None or file.status == "DRAFT" or service is None:
        raise ApiError(404, "file_not_found", "No application file has this id.")
    document = access.service_document(uow, service=service, number=file.service_version)
    found = design.contact(document, file.form_data)
    # The file id names the application in every notification; the registry number, once issued, is told separately.
    body = {"language": file.language if file.language in design.LANGUAGES else "lo", "applicationNumber": file.id,
            "serviceName": design.text(document.get("name"), file.language)}
    if file.registration_number:
        body["registrationNumber"] = file.registration_number
    if "email" in found:
        body["email"] = found["email"]
    if "phone" in found:
        body["phone"] = found["phone"]
    return body
