import uuid
from datetime import timedelta

from sqlmodel import Session

from kernel.db import UnitOfWork
from kernel.outbox import OutboxMessage
from identity import maintenance
from identity.events import SendOtp
from identity.models import AuthTransaction, OtpChallenge, UsedAssertion, utcnow


def _transaction(expires_in: timedelta) -> AuthTransaction:
    return AuthTransaction(id=uuid.uuid4().hex, browser_binding="", client_id="any", redirect_uri="https://rp.example.la/cb",
                           scope="openid", acr="idbb:acr:static-code", expires_at=utcnow() + expires_in)


def _outbox(type_: str, *, sent: bool) -> OutboxMessage:
    return OutboxMessage(id=str(uuid.uuid4()), type=type_, source="identity", time=utcnow(), data={}, headers={},
                         sent_at=utcnow() if sent else None)


def test_purge_deletes_only_what_can_no_longer_be_used(engine, settings):
    old, recent = _transaction(timedelta(days=-1)), _transaction(timedelta(minutes=-1))  # recent: its tokens may still be in use
    spent, live = (UsedAssertion(client_id="c", jti=uuid.uuid4().hex, expires_at=utcnow() + delta)
                   for delta in (timedelta(seconds=-1), timedelta(minutes=5)))
    sent_otp, unsent_otp, sent_other = _outbox(SendOtp.type, sent=True), _outbox(SendOtp.type, sent=False), _outbox("identity.person.enrolled", sent=True)
    with Session(engine, expire_on_commit=False) as session:
        session.add_all([old, recent, spent, live, sent_otp, unsent_otp, sent_other])
        session.flush()
        session.add(OtpChallenge(transaction_id=old.id, otp_hash="x", channel="sms", expires_at=utcnow() - timedelta(days=1)))
        session.commit()

    with UnitOfWork(engine, source="identity") as uow:
        purged = maintenance.purge(uow, settings)
        uow.commit()

    with Session(engine) as session:
        assert session.get(AuthTransaction, old.id) is None and session.get(OtpChallenge, old.id) is None
        assert session.get(AuthTransaction, recent.id) is not None
        assert session.get(UsedAssertion, ("c", spent.jti)) is None and session.get(UsedAssertion, ("c", live.jti)) is not None
        kept = {row.id for row in session.query(OutboxMessage).filter(OutboxMessage.id.in_([sent_otp.id, unsent_otp.id, sent_other.id]))}
    assert kept == {unsent_otp.id, sent_other.id}
    assert purged.transactions >= 1 and purged.assertions >= 1 and purged.otp_commands >= 1
