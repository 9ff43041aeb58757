"""One-time codes (generated-code login, linked authentication, wallet binding): generation, keyed hashing, checks, and
removal of sent code commands."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session

from kernel.outbox import OutboxMessage
from identity import keys
from identity.events import SendOtp
from identity.models import OtpChallenge, Person, utcnow
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


def _hash(settings: IdentitySettings, transaction_id: str, code: str) -> str:
    # Keyed: six digits are too few for a plain hash to hide the code from someone who reads the database.
    secret = keys.derive_secret(settings.key_encryption_secret, "identity otp")
    return hmac.new(secret, f"{transaction_id}\x00{code}".encode(), hashlib.sha256).hexdigest()


def recipient(person: Person | None, channel: str) -> str | None:
    value = person.attributes.get(CHANNELS[channel]) if person is not None else None
    return value if isinstance(value, str) and value else None


def send(uow, settings: IdentitySettings, *, transaction_id: str, person: Person | None, channel: str, language: str) -> None:
    """Store a fresh code for the transaction and emit the command that delivers it (nothing is sent for an unknown person,
    and the page looks the same, so ids cannot be probed)."""
    challenge = uow.session.get(OtpChallenge, transaction_id)
    if challenge is not None and challenge.sends >= settings.otp_max_sends:
        raise TooManyCodes()
    code = f"{secrets.randbelow(10**6):06d}"
    if challenge is None:
        challenge = OtpChallenge(transaction_id=transaction_id, otp_hash="", channel=channel, sends=0, expires_at=utcnow())
    target = recipient(person, channel)
    challenge.person_id = person.id if target else None
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


def verify(uow, settings: IdentitySettings, *, transaction_id: str, code: str) -> Check:
    """The person the code was sent to, or None; a used or expired code is deleted, an exhausted one emptied. The caller commits."""
    # Locked until the caller commits: concurrent guesses otherwise each read the same attempt count and all get their try.
    challenge = uow.session.get(OtpChallenge, transaction_id, with_for_update=True, populate_existing=True)
    if challenge is None:
        return Check(person_id=None, exhausted=True)
    if challenge.expires_at <= utcnow():
        uow.session.delete(challenge)
        return Check(person_id=None, exhausted=True)
    if challenge.person_id and hmac.compare_digest(challenge.otp_hash, _hash(settings, transaction_id, code)):
        uow.session.delete(challenge)  # single use
        return Check(person_id=challenge.person_id)
    challenge.attempts += 1
    if challenge.attempts >= settings.otp_max_attempts:
        # Used up, but the row stays until it expires: deleting it would reset `sends`, and a new code with fresh attempts
        # after every few wrong guesses would lift both limits.
        challenge.person_id, challenge.otp_hash = None, ""
        uow.session.add(challenge)
        return Check(person_id=None, exhausted=True)
    uow.session.add(challenge)
    return Check(person_id=None)


def purge_sent_commands(session: Session) -> int:
    """Delete outbox rows of sent code commands: they hold a secret and personal data, and have done their job."""
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.type == SendOtp.type, OutboxMessage.sent_at.is_not(None)))
    return result.rowcount
