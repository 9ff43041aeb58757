"""One-time codes (generated-code login, linked authentication, wallet binding): generation, keyed hashing, checks, and
removal of sent code commands."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from kernel.outbox import OutboxMessage
from identity import keys
from identity.events import SendOtp
from identity.models import OtpChallenge, OtpLimit, Person, utcnow
from identity.settings import IdentitySettings

CHANNELS = {"sms": "phone_number", "email": "email"}  # channel -> the person's attribute holding the recipient


# What wallets send in otpChannels (eSignet says "phone"), mapped to the Messaging BB's channel.
CHANNEL_NAMES = {"sms": "sms", "phone": "sms", "mobile": "sms", "email": "email"}


class TooManyCodes(Exception):
    pass


def parse_channels(value) -> list[str]:
    """The channels a wallet asks for, in its order of preference; ValueError when there is none or one is unknown."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not 0 < len(value) <= 4 or not all(isinstance(v, str) and v.lower() in CHANNEL_NAMES for v in value):
        raise ValueError("otpChannels must list sms (or phone) and/or email.")
    return list(dict.fromkeys(CHANNEL_NAMES[v.lower()] for v in value))


def preferred_channel(person: Person | None, channels: list[str]) -> str:
    """The first channel the person can be reached on (the first one when none: nothing is sent then)."""
    return next((channel for channel in channels if recipient(person, channel)), channels[0])


def binding_key(settings: IdentitySettings, *, partner_id: str, individual_id: str) -> str:
    """The challenge key of a wallet-binding code, which has no transaction. Keyed, since the Messaging BB logs it and a
    plain hash of a 10-digit ID number would be reversed by trying them all."""
    secret = keys.derive_secret(settings.key_encryption_secret, "identity otp wallet binding")
    return "wallet-binding:" + hmac.new(secret, f"{partner_id}\x00{individual_id}".encode(), hashlib.sha256).hexdigest()[:40]


def limit_key(settings: IdentitySettings, *, person: Person | None, individual_id: str) -> str:
    """Whose counters a code request is held to: the person's, whichever of their UIN or VIDs was typed; for an ID number
    nobody has, that number's (keyed, as binding_key), so that the same limits apply and tell nothing about which exist."""
    if person is not None:
        return "person:" + person.id
    secret = keys.derive_secret(settings.key_encryption_secret, "identity otp limit")
    return "id:" + hmac.new(secret, individual_id.encode(), hashlib.sha256).hexdigest()[:40]


def _limit(uow, key: str) -> OtpLimit:
    """The counters of key, created if need be, row-locked until the caller commits (as persons.check_pin locks the PIN's):
    concurrent requests otherwise each read the same counts and lose each other's."""
    insert = postgresql_insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    uow.session.execute(insert(OtpLimit).values(key=key, sends=0, failures=0, expires_at=utcnow()).on_conflict_do_nothing())
    return uow.session.get(OtpLimit, key, with_for_update=True, populate_existing=True)


def _keep_until(limit: OtpLimit, settings: IdentitySettings) -> None:
    window = timedelta(seconds=settings.otp_limit_window_seconds)
    ends = [moment + window for moment in (limit.sends_since, limit.failures_since) if moment is not None]
    limit.expires_at = max([utcnow(), *ends, *([limit.locked_until] if limit.locked_until else [])])


def _locked(limit: OtpLimit) -> bool:
    return limit.locked_until is not None and limit.locked_until > utcnow()


def _may_send(limit: OtpLimit, settings: IdentitySettings, *, max_sends: int) -> bool:
    now = utcnow()
    if limit.sends_since is None or limit.sends_since + timedelta(seconds=settings.otp_limit_window_seconds) <= now:
        limit.sends, limit.sends_since = 0, now  # a fixed window, starting with its first code
    return limit.sends < max_sends and not _locked(limit)


def _count_failure(limit: OtpLimit, settings: IdentitySettings) -> bool:
    """One more wrong code against the person; True when that locks their OTP sign-in."""
    now = utcnow()
    if limit.failures_since is None or limit.failures_since + timedelta(seconds=settings.otp_limit_window_seconds) <= now:
        limit.failures, limit.failures_since = 0, now
    limit.failures += 1
    locked = limit.failures >= settings.otp_person_max_failures
    if locked:
        limit.failures, limit.failures_since = 0, None
        limit.locked_until = now + timedelta(seconds=settings.otp_lockout_seconds)
    _keep_until(limit, settings)
    return locked


def _hash(settings: IdentitySettings, transaction_id: str, code: str) -> str:
    # Keyed: six digits are too few for a plain hash to hide the code from someone who reads the database.
    secret = keys.derive_secret(settings.key_encryption_secret, "identity otp")
    return hmac.new(secret, f"{transaction_id}\x00{code}".encode(), hashlib.sha256).hexdigest()


def recipient(person: Person | None, channel: str) -> str | None:
    value = person.attributes.get(CHANNELS[channel]) if person is not None else None
    return value if isinstance(value, str) and value else None


def send(uow, settings: IdentitySettings, *, transaction_id: str, person: Person | None, individual_id: str, channel: str,
         language: str, binding: bool = False) -> None:
    """Store a fresh code for the transaction and emit the command that delivers it (nothing is sent for an unknown person,
    and the page looks the same, so ids cannot be probed). TooManyCodes past the limits per transaction, per person (or ID
    number) and, for a wallet binding (transaction_id is its binding_key), per partner and ID number; the caller commits."""
    # Locked first, as verify() does, so that a send and a check of the same code cannot wait on each other's locks.
    challenge = uow.session.get(OtpChallenge, transaction_id, with_for_update=True, populate_existing=True)
    if challenge is not None and challenge.sends >= settings.otp_max_sends:
        raise TooManyCodes()
    key = limit_key(settings, person=person, individual_id=individual_id)
    limits = [(_limit(uow, transaction_id), settings.otp_binding_max_sends)] if binding else []
    limits.append((_limit(uow, key), settings.otp_person_max_sends))
    allowed = [_may_send(limit, settings, max_sends=max_sends) for limit, max_sends in limits]
    for limit, _ in limits:
        limit.sends += all(allowed)  # a refused request is not counted: it sent nothing
        _keep_until(limit, settings)
        uow.session.add(limit)
    if not all(allowed):
        raise TooManyCodes()
    code = f"{secrets.randbelow(10**6):06d}"
    if challenge is None:
        challenge = OtpChallenge(transaction_id=transaction_id, otp_hash="", channel=channel, sends=0, expires_at=utcnow())
    target = recipient(person, channel)
    challenge.person_id = person.id if target else None
    challenge.limit_key = key
    challenge.otp_hash = _hash(settings, transaction_id, code)
    challenge.channel, challenge.sends, challenge.attempts = channel, challenge.sends + 1, 0
    challenge.expires_at = utcnow() + timedelta(seconds=settings.otp_seconds)
    uow.session.add(challenge)
    if target:
        uow.emit(SendOtp(transaction_id=transaction_id, channel=channel, recipient=target, otp=code, language=language,
                         expires_seconds=settings.otp_seconds))


@dataclass
class Check:
    person_id: str | None
    exhausted: bool = False
    locked: bool = False  # the person's OTP sign-in is locked (too many wrong codes across transactions)


def verify(uow, settings: IdentitySettings, *, transaction_id: str, code: str) -> Check:
    """The person the code was sent to, or None; a used or expired code is deleted, an exhausted one emptied. Wrong codes
    count against the code and against its person; while the person is locked no code is compared. The caller commits."""
    # Locked until the caller commits: concurrent guesses otherwise each read the same attempt count and all get their try.
    challenge = uow.session.get(OtpChallenge, transaction_id, with_for_update=True, populate_existing=True)
    if challenge is None:
        return Check(person_id=None, exhausted=True)
    if challenge.expires_at <= utcnow():
        uow.session.delete(challenge)
        return Check(person_id=None, exhausted=True)
    if challenge.attempts >= settings.otp_max_attempts:
        return Check(person_id=None, exhausted=True)  # used up: a guess at no code is not counted against anyone
    limit = _limit(uow, challenge.limit_key) if challenge.limit_key else None
    if limit is not None and _locked(limit):
        return Check(person_id=None, locked=True)
    if challenge.person_id and hmac.compare_digest(challenge.otp_hash, _hash(settings, transaction_id, code)):
        uow.session.delete(challenge)  # single use
        if limit is not None:
            limit.failures, limit.failures_since = 0, None
            uow.session.add(limit)
        return Check(person_id=challenge.person_id)
    challenge.attempts += 1
    locked = limit is not None and _count_failure(limit, settings)
    if limit is not None:
        uow.session.add(limit)
    if locked or challenge.attempts >= settings.otp_max_attempts:
        # Used up, but the row stays until it expires: deleting it would reset `sends`, and a new code with fresh attempts
        # after every few wrong guesses would lift both limits.
        challenge.person_id, challenge.otp_hash = None, ""
        challenge.attempts = max(challenge.attempts, settings.otp_max_attempts)
        uow.session.add(challenge)
        return Check(person_id=None, exhausted=True, locked=locked)
    uow.session.add(challenge)
    return Check(person_id=None)


def purge_sent_commands(session: Session) -> int:
    """Delete outbox rows of sent code commands: they hold a secret and personal data, and have done their job."""
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.type == SendOtp.type, OutboxMessage.sent_at.is_not(None)))
    return result.rowcount
