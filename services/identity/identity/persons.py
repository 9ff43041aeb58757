"""Foundational ID of enrolled persons: lookup by UIN or VID, PINs, virtual IDs."""
from sqlmodel import Session, select

from identity import uin as uin_numbers
from identity.models import Person, PersonCredential, VirtualId, utcnow
from identity.secrets_check import Outcome, check, hash_secret
from identity.settings import IdentitySettings


def by_individual_id(session: Session, individual_id: str) -> Person | None:
    """The active person behind a UIN or an active VID."""
    if not isinstance(individual_id, str) or not uin_numbers.is_valid(individual_id):
        return None
    person = session.exec(select(Person).where(Person.uin == individual_id)).first()
    if person is None:
        vid = session.get(VirtualId, individual_id)
        if vid is not None and vid.status == "active":
            person = session.get(Person, vid.person_id)
    return person if person is not None and person.status == "active" else None


def set_pin(session: Session, *, person_id: str, pin: str) -> None:
    credential = session.get(PersonCredential, person_id)
    if credential is None:
        credential = PersonCredential(person_id=person_id, pin_hash=hash_secret(pin))
    else:
        credential.pin_hash, credential.failed_attempts, credential.locked_until = hash_secret(pin), 0, None
    session.add(credential)


def check_pin(session: Session, settings: IdentitySettings, person: Person | None, pin: str) -> Outcome:
    """The person's PIN, with failures counted towards the lockout (the caller commits); no person: refused, in the
    same time as a wrong PIN."""
    # Locked until the caller commits: concurrent guesses otherwise each read the same count and lose each other's failures.
    credential = session.get(PersonCredential, person.id, with_for_update=True, populate_existing=True) if person else None
    outcome = check(credential, pin[:128], hash_attr="pin_hash", max_failures=settings.max_failed_attempts,
                    lockout_seconds=settings.lockout_seconds)
    if credential is not None:
        session.add(credential)
    return outcome


def create_vid(session: Session, *, person_id: str) -> VirtualId:
    while True:
        number = uin_numbers.new_vid()
        if session.get(VirtualId, number) is None:
            break
    vid = VirtualId(vid=number, person_id=person_id)
    session.add(vid)
    return vid


def revoke_vid(session: Session, vid: VirtualId) -> None:
    if vid.status != "revoked":
        vid.status, vid.revoked_at = "revoked", utcnow()
        session.add(vid)
