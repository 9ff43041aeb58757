"""Enrolment packets: pending while collected (single- or multi-step), then a person with a UIN, or an update of one."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func
from sqlmodel import Session, select

from identity import uin as uin_numbers
from identity.events import PersonEnrolled, PersonUpdated
from identity.models import Enrollment, Person, PersonRevision, utcnow
from kernel import safejson

PROCESSES = ("NEW", "UPDATE")
# The spec's "not committed yet" is our "pending"; completed enrolments are frozen and not searchable here.
UNCOMMITTED_STATUSES = ("uncommitted", "pending")
SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100
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
            parsed = safejson.loads(value)
        except ValueError:
            return value
    if isinstance(parsed, list) and parsed and all(isinstance(v, dict) and "value" in v for v in parsed):
        return {LANGUAGES.get(str(v.get("language", "")).lower(), str(v.get("language", ""))[:3]): v["value"] for v in parsed}
    return parsed


def check_text_fields(fields: dict) -> None:
    """Refuse a claim field whose value is not text, or per-language text (it would become a claim of that shape)."""
    for field, raw in fields.items():
        if field not in FIELD_CLAIMS and field not in ADDRESS_FIELDS or raw is None:
            continue
        value = _field_value(raw)
        per_language = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if not isinstance(value, str) and not per_language:
            raise Invalid("invalid_request", f"fields.{field} must be text, or text per language.")


def attributes_from_fields(fields: dict) -> dict:
    attributes: dict = {}
    address: dict = {}
    for field, raw in fields.items():
        value = _field_value(raw)
        if field in FIELD_CLAIMS:
            attributes[FIELD_CLAIMS[field]] = value
        elif field in ADDRESS_FIELDS:
            value = next(iter(value.values()), None) if isinstance(value, dict) else value
            if value is not None:  # an empty per-language object is no value
                address[ADDRESS_FIELDS[field]] = value
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
    check_text_fields(fields)
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


@dataclass(frozen=True)
class SearchQuery:
    process: str | None = None
    source: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    offset: int = 0
    limit: int = SEARCH_LIMIT_DEFAULT


def _count(value: str | None, name: str, *, default: int, lowest: int, highest: int | None = None) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise Invalid("invalid_request", f"{name} must be a whole number.")
    number = int(value)
    if number < lowest or (highest is not None and number > highest):
        raise Invalid("invalid_request", f"{name} must be between {lowest} and {highest}." if highest is not None
                      else f"{name} must be at least {lowest}.")
    return number


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("invalid_request", f"{name} must be an ISO 8601 date-time, e.g. 2026-01-31T08:00:00Z.") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # a time without an offset is read as UTC, the zone of stored times
    try:
        return moment.astimezone(timezone.utc)  # compared in UTC on every database (kernel.db: SQLite's times too)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before year 1 in UTC
        raise Invalid("invalid_request", f"{name} is out of range.") from None


def search_query(*, status: str | None, process: str | None, source: str | None, created_from: str | None,
                 created_to: str | None, offset: str | None, limit: str | None) -> SearchQuery:
    """Validate the search's query parameters (all optional) into a SearchQuery; Invalid on anything malformed."""
    if status is not None and status not in UNCOMMITTED_STATUSES:
        raise Invalid("invalid_request", "status must be uncommitted: completed enrolments cannot be searched or changed.")
    if process is not None and process not in PROCESSES:
        raise Invalid("invalid_request", "process must be NEW or UPDATE.")
    if source is not None and not 0 < len(source) <= 100:
        raise Invalid("invalid_request", "source must be 1 to 100 characters.")
    query = SearchQuery(process=process, source=source, created_from=_moment(created_from, "createdFrom"),
                        created_to=_moment(created_to, "createdTo"),
                        offset=_count(offset, "offset", default=0, lowest=0),
                        limit=_count(limit, "limit", default=SEARCH_LIMIT_DEFAULT, lowest=1, highest=SEARCH_LIMIT_MAX))
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise Invalid("invalid_request", "createdFrom must not be after createdTo.")
    return query


def search_uncommitted(session: Session, query: SearchQuery) -> tuple[list[Enrollment], int]:
    """One page of pending enrolments, oldest first, and how many match in all."""
    conditions = [Enrollment.status == "pending"]
    if query.process is not None:
        conditions.append(Enrollment.process == query.process)
    if query.source is not None:
        conditions.append(Enrollment.source == query.source)
    if query.created_from is not None:
        conditions.append(Enrollment.created_at >= query.created_from)
    if query.created_to is not None:
        conditions.append(Enrollment.created_at <= query.created_to)
    total = session.exec(select(func.count()).select_from(Enrollment).where(*conditions)).one()
    page = session.exec(select(Enrollment).where(*conditions).order_by(Enrollment.created_at, Enrollment.id)
                        .offset(query.offset).limit(query.limit)).all()
    return list(page), total
