"""Staff operations on enrolled persons: set a PIN, issue and revoke virtual IDs, read attribute history."""
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import select

from kernel.auth import require
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import persons
from identity.models import Person, PersonRevision, VirtualId

router = APIRouter(prefix="/persons", tags=["Persons"], dependencies=[require(roles=("admin", "operator"), scopes=("enrollment",))])


def current_person(person_id: str, uow: UowDep) -> Person:
    person = uow.session.get(Person, person_id)
    if person is None:
        raise ApiError(404, "not_found", "No person with this id.")
    return person


CurrentPerson = Annotated[Person, Depends(current_person)]


class PinIn(BaseModel):
    pin: str = Field(min_length=4, max_length=128)


@router.put("/{person_id}/pin", status_code=204)
def set_pin(person: CurrentPerson, pin_in: PinIn, uow: UowDep) -> None:
    persons.set_pin(uow.session, person_id=person.id, pin=pin_in.pin)
    uow.commit()


@router.post("/{person_id}/vids", status_code=201)
def create_vid(person: CurrentPerson, uow: UowDep) -> dict:
    vid = persons.create_vid(uow.session, person_id=person.id)
    uow.commit()
    return {"vid": vid.vid, "status": vid.status}


@router.delete("/{person_id}/vids/{vid}")
def revoke_vid(person: CurrentPerson, vid: str, uow: UowDep) -> dict:
    row = uow.session.get(VirtualId, vid)
    if row is None or row.person_id != person.id:
        raise ApiError(404, "not_found", "No such virtual ID for this person.")
    persons.revoke_vid(uow.session, row)
    uow.commit()
    return {"vid": row.vid, "status": row.status}


@router.get("/{person_id}/history")
def get_history(person: CurrentPerson, uow: UowDep) -> list[dict]:
    rows = uow.session.exec(select(PersonRevision).where(PersonRevision.person_id == person.id).order_by(PersonRevision.version))
    return [{"version": r.version, "attributes": r.attributes, "enrollmentId": r.enrollment_id, "changedAt": r.changed_at.isoformat()} for r in rows]
