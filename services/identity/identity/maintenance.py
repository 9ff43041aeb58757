"""Periodic clean-up in identity's consumer process: expired transactions and codes, spent assertion ids, sent code commands."""
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from kernel.db import UnitOfWork
from identity import otp
from identity.models import AuthTransaction, OtpChallenge, OtpLimit, UsedAssertion, utcnow
from identity.settings import IdentitySettings

log = logging.getLogger(__name__)


@dataclass
class Purged:
    transactions: int
    assertions: int
    otp_challenges: int
    otp_commands: int
    otp_limits: int


def purge(uow, settings: IdentitySettings) -> Purged:
    """Delete what can no longer be used; the caller commits."""
    now = utcnow()
    # A transaction answers userinfo for as long as the access token issued from it lives, so it outlives its own expiry.
    keep = timedelta(seconds=settings.authorization_code_seconds + settings.access_token_seconds + 60)
    stale = select(AuthTransaction.id).where(AuthTransaction.expires_at < now - keep)
    uow.session.execute(delete(OtpChallenge).where(OtpChallenge.transaction_id.in_(stale)))
    otp_challenges = uow.session.execute(delete(OtpChallenge).where(OtpChallenge.expires_at < now)).rowcount
    transactions = uow.session.execute(delete(AuthTransaction).where(AuthTransaction.expires_at < now - keep)).rowcount
    # An assertion id is remembered past its exp only so that a replay is refused; after exp the assertion is refused anyway.
    assertions = uow.session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now)).rowcount
    otp_limits = uow.session.execute(delete(OtpLimit).where(OtpLimit.expires_at < now)).rowcount  # windows and lockout over
    return Purged(transactions=transactions, assertions=assertions, otp_challenges=otp_challenges,
                  otp_commands=otp.purge_sent_commands(uow.session), otp_limits=otp_limits)


def run(settings: IdentitySettings, engine, stop: threading.Event) -> None:
    """Purge every maintenance_interval_seconds until stopped (a background loop of `python -m identity consumer`)."""
    while not stop.is_set():
        try:
            with UnitOfWork(engine, source=settings.service_name) as uow:
                purged = purge(uow, settings)
                uow.commit()
            if any(vars(purged).values()):
                log.info("purged %s", vars(purged))
        except Exception:  # a failed round is retried at the next interval; the API does not depend on it
            log.exception("identity maintenance round failed")
        stop.wait(settings.maintenance_interval_seconds)
