"""Enrolment packets: pending while collected (single- or multi-step), then a person with a UIN, or an update of one."""
import hashlib
import json

from sqlmodel import Session, select

from identity import uin as uin_numbers
from identity.events import PersonEnrolled, PersonUpdated
from identity.models import Enrollment, Person, PersonRevision, utcnow

PROCESSES = ("NEW", "UPDATE")
LANGUAGES = {"lao": "lo", "lo": "lo", "eng": "en", "en": "en"}
# Enrolment field names (MOSIP ID schema style) -> OIDC claim names of the person's attributes.
FIELD_CLAIMS = {
    "fullName": "name", "name": "name", "firstName": "given_name", "givenName": "given_name", "lastName": "family_name",
    "familyName": "family_name", "middleName": "middle_name", "nickname": "nickname", "gender": "gender",
    "dateOfBirth": "birthdate", "birthdate": "birthdate", "email": "email", "phone": "phone_number",
    "phoneNumber": "phone_number", "picture": "picture", "preferredLanguage": "locale",
}
ADDRESS_FIELDS = {"addressLine1": "street_address", "city": "locality", "province": "region", "region": "region",
                  "postalCode": "postal_code", "country": "country"}


class Invalid(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _field_value(value):
    """MOSIP sends multilingual values as a JSON string '[{"language": "eng", "value": ...}]'; keep them per language."""
    parsed = value
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
    if isinstance(parsed, list) and parsed and all(isinstance(v, dict) and "value" in v for v in parsed):
        return {LANGUAGES.get(str(v.get("language", "")).lower(), str(v.get("language", ""))[:3]): v["value"] for v in parsed}
    return parsed


def attributes_from_fields(fields: dict) -> dict:
    attributes: dict = {}
    address: dict = {}
    for field, raw in fields.items():
        value = _field_value(raw)
        if field in FIELD_CLAIMS:
            attributes[FIELD_CLAIMS[field]] = value
        elif field in ADDRESS_FIELDS:
            address[ADDRESS_FIELDS[field]] = value if not isinstance(value, dict) else next(iter(value.values()))
    if address:
        attributes["address"] = address
    return attributes


def packet_digest(enrollment: Enrollment) -> str:
    packet = {"id": enrollment.id, "process": enrollment.process, "fields": enrollment.fields, "metaInfo": enrollment.meta_info,
              "biometrics": enrollment.biometrics, "documents": enrollment.documents}
    return hashlib.sha256(json.dumps(packet, sort_keys=True, default=str).encode()).hexdigest()


def _dict(value, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("invalid_request", f"{name} must be an object.")
    return value


def submit(uow, body) -> tuple[Enrollment, bool]:
    """Create or update a pending enrolment from one PUT; finalize completes it. Returns (enrolment, created)."""
    if not isinstance(body, dict) or not isinstance(body.get("request"), dict):
        raise Invalid("invalid_request", "The body must be an object with a request object.")
    request = body["request"]
    enrollment_id = request.get("id")
    if not isinstance(enrollment_id, str) or not 0 < len(enrollment_id) <= 100:
        raise Invalid("invalid_request", "request.id (the enrolment id) must be 1 to 100 characters.")
    fields = _dict(request.get("fields"), "fields")
    process = request.get("process") or "NEW"
    if process not in PROCESSES:
        raise Invalid("invalid_request", "process must be NEW or UPDATE.")
    finalize = request.get("finalize", False)
    if not isinstance(finalize, bool):
        raise Invalid("invalid_request", "finalize must be a boolean.")
    session: Session = uow.session
    enrollment = session.get(Enrollment, enrollment_id)
    created = enrollment is None
    if created:
        enrollment = Enrollment(id=enrollment_id, process=process)
    elif enrollment.status != "pending":
        raise Invalid("enrollment_completed", "This enrolment is already completed and cannot change.")
    elif enrollment.process != process:
        raise Invalid("invalid_request", "process cannot change during an enrolment.")
    # Multi-step: only what changed is sent; anything not sent stays as it was.
    enrollment.fields = {**enrollment.fields, **fields}
    for attr, key in (("meta_info", "metaInfo"), ("biometrics", "biometrics"), ("documents", "documents"), ("others", "others")):
        if request.get(key) is not None:
            setattr(enrollment, attr, {**getattr(enrollment, attr), **_dict(request.get(key), key)})
    if isinstance(request.get("audits"), list):
        enrollment.audits = [*enrollment.audits, *request["audits"]]
    enrollment.ref_id = request.get("refId") if isinstance(request.get("refId"), str) else enrollment.ref_id
    enrollment.source = request.get("source") if isinstance(request.get("source"), str) else enrollment.source
    enrollment.updated_at = utcnow()
    session.add(enrollment)
    if finalize:
        _complete(uow, enrollment)
    return enrollment, created


def _complete(uow, enrollment: Enrollment) -> None:
    session: Session = uow.session
    attributes = attributes_from_fields(enrollment.fields)
    if enrollment.process == "NEW":
        if not attributes.get("name") and not attributes.get("given_name"):
            raise Invalid("missing_input", "A new enrolment needs at least fullName or firstName to be completed.")
        person = Person(uin=_unused_uin(session), attributes=attributes)
        session.add(person)
        session.add(PersonRevision(person_id=person.id, version=1, attributes=attributes, enrollment_id=enrollment.id))
        uow.emit(PersonEnrolled(person_id=person.id, enrollment_id=enrollment.id))
    else:
        target = enrollment.fields.get("UIN")
        person = session.exec(select(Person).where(Person.uin == target)).first() if isinstance(target, str) else None
        if person is None:
            raise Invalid("invalid_uin", "An UPDATE enrolment must name the UIN of an enrolled person in fields.UIN.")
        person.attributes = {**person.attributes, **attributes}
        person.version += 1
        person.updated_at = utcnow()
        session.add(person)
        session.add(PersonRevision(person_id=person.id, version=person.version, attributes=person.attributes, enrollment_id=enrollment.id))
        uow.emit(PersonUpdated(person_id=person.id, enrollment_id=enrollment.id, version=person.version))
    enrollment.status = "completed"
    enrollment.person_id = person.id
    session.add(enrollment)


def _unused_uin(session: Session) -> str:
    while True:
        candidate = uin_numbers.new_uin()
        if session.exec(select(Person.id).where(Person.uin == candidate)).first() is None:
            return candidate
