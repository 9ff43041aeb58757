"""After the retention period, addresses, content and replies are erased; the status counts stay."""
import base64
from datetime import datetime, timedelta, timezone

import httpx
from sqlmodel import Session, select

from messaging.models import Message, Reply, SendRequest
from messaging.retention import purge_expired
from .helpers import address, email_body, send, status


def test_purge_erases_personal_data_but_keeps_counts(base_url, api_key, engine, settings):
    request_uid = send(base_url, api_key, email_body(address(), address()), path="/send/email/batch")
    httpx.post(f"{base_url}/callback/email", json={"meta": "m", "content": base64.b64encode(b"yes").decode()},
               headers={"api_key": api_key, "requestUID": request_uid})

    purged = purge_expired(engine, settings=settings, now=datetime.now(timezone.utc) + timedelta(days=settings.retention_days, seconds=1))

    assert purged >= 1
    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
        messages = session.exec(select(Message).where(Message.request_id == request.id)).all()
        replies = session.exec(select(Reply).where(Reply.request_id == request.id)).all()
    assert (request.sender_enc, request.content_enc) == (None, None) and request.purged_at is not None
    assert [message.recipient_enc for message in messages] == [None, None]
    assert [(reply.meta_enc, reply.content_enc) for reply in replies] == [(None, None)]
    assert sum(status(base_url, api_key, request_uid).values()) == 2


def test_purge_keeps_requests_within_the_retention_period(base_url, api_key, engine, settings):
    request_uid = send(base_url, api_key, email_body(address()))

    purge_expired(engine, settings=settings, now=datetime.now(timezone.utc) + timedelta(days=settings.retention_days - 1))

    with Session(engine) as session:
        request = session.exec(select(SendRequest).where(SendRequest.request_uid == request_uid)).one()
    assert request.content_enc is not None and request.purged_at is None


def test_the_purge_command_is_listed_and_runs(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    listed = subprocess.run([sys.executable, "-m", "messaging", "--help"], env=env, capture_output=True, text=True, timeout=120)
    ran = subprocess.run([sys.executable, "-m", "messaging", "purge"], env=env, capture_output=True, text=True, timeout=120)

    assert listed.returncode == 0 and "python -m messaging" in listed.stdout and "purge" in listed.stdout
    assert ran.returncode == 0 and ran.stdout.strip() == "purged 0 request(s)"
