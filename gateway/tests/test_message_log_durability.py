"""A gateway process killed with SIGKILL loses no exchange it answered as delivered: the journal is replayed on restart."""
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from gateway.messagelog import verify
from gateway.models import MessageLogEntry
from gateway.settings import GatewaySettings
from kernel.db import make_engine
from kernel.testing import free_port, wait_until

GATEWAY_ROOT = Path(__file__).resolve().parent.parent


class GatewayProcess:
    """`python -m gateway api` as a real process, so that it can be killed without any clean-up."""

    def __init__(self, env: dict):
        self.env, self.process = env, None
        self.url = f"http://127.0.0.1:{env['PORT']}"

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "gateway", "api"], env=self.env, cwd=GATEWAY_ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready() -> bool:
            assert self.process.poll() is None, "the gateway exited during start-up"
            try:
                return httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, message="the gateway process ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def crash_setup(infrastructure, oidc_issuer, tmp_path_factory):
    database_url = infrastructure.new_database("gateway_crash")
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": infrastructure.new_vhost("gateway_crash"),
           "OIDC_ISSUERS": oidc_issuer.url, "PORT": str(free_port()), "HOST": "127.0.0.1", "ENVIRONMENT": "test",
           "DATA_DIR": str(tmp_path_factory.mktemp("gateway-crash-data")), "LOG_LEVEL": "WARNING",
           # After its first batch the database writer waits a minute: what follows is in the journal only.
           "MESSAGE_LOG_LINGER_SECONDS": "60"}
    env.pop("FIXTURES", None)
    engine = make_engine(GatewaySettings(database_url=database_url))
    yield env, engine
    engine.dispose()


def count_rows(engine, message_ids: list[str]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(MessageLogEntry).where(MessageLogEntry.message_id.in_(message_ids))).one()


def outcomes(engine, message_ids: list[str]) -> dict[str, list[str]]:
    with Session(engine) as session:
        rows = session.exec(select(MessageLogEntry).where(MessageLogEntry.message_id.in_(message_ids))).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row.outcome)
    return found


# 0: synced to disk before each response; 0.5: written before it, synced every half second (a kill loses nothing either way).
@pytest.mark.parametrize("sync_seconds", ["0", "0.5"])
def test_nothing_answered_as_delivered_is_lost_when_the_gateway_is_killed(crash_setup, provider_url, oidc_issuer, admin_headers,
                                                                          sync_seconds):
    env, engine = crash_setup
    gateway = GatewayProcess({**env, "MESSAGE_LOG_SYNC_SECONDS": sync_seconds})
    gateway.start()
    try:
        suffix = uuid.uuid4().hex[:8]
        config = {"members": [
            {"class": "GOV", "code": f"P{suffix}", "applications": [{"id": "p", "services": [
                {"id": "s", "serviceUrl": provider_url, "rights": [{"member": f"GOV/C{suffix}", "application": "c"}]}]}]},
            {"class": "GOV", "code": f"C{suffix}", "applications": [{"id": "c", "clientId": f"c-{suffix}"}]}]}
        assert httpx.patch(f"{gateway.url}/api/v1/config", json=config, headers=admin_headers).status_code == 201
        headers = {"Information-Mediator-Client": f"LA/GOV/C{suffix}/c",
                   "Authorization": f"Bearer {oidc_issuer.token(audience='gateway', client_id=f'c-{suffix}', expires_in=600)}"}
        message_ids = [str(uuid.uuid4()) for _ in range(20)]
        answered = [httpx.get(f"{gateway.url}/r1/LA/GOV/P{suffix}/p/s/x", headers={**headers, "X-Road-Id": m}) for m in message_ids]
        stored_before_the_crash = count_rows(engine, message_ids)

        gateway.kill()
        gateway.start()
        after_restart = outcomes(engine, message_ids)
    finally:
        gateway.stop()

    assert [r.status_code for r in answered] == [200] * 20
    assert stored_before_the_crash < 20  # the test means something: most exchanges were in the journal only
    assert after_restart == {m: ["delivered"] for m in message_ids}  # every one, once: replay skips the stored ones
    assert verify(engine).ok


def test_a_clean_stop_stores_everything_and_leaves_no_journal(crash_setup, provider_url, oidc_issuer, admin_headers):
    env, engine = crash_setup
    gateway = GatewayProcess(env)
    gateway.start()
    try:
        suffix = uuid.uuid4().hex[:8]
        config = {"members": [{"class": "GOV", "code": f"Q{suffix}", "applications": [
            {"id": "q", "clientId": f"q-{suffix}", "services": [
                {"id": "s", "serviceUrl": provider_url, "rights": [{"member": f"GOV/Q{suffix}", "application": "q"}]}]}]}]}
        assert httpx.patch(f"{gateway.url}/api/v1/config", json=config, headers=admin_headers).status_code == 201
        headers = {"Information-Mediator-Client": f"LA/GOV/Q{suffix}/q",
                   "Authorization": f"Bearer {oidc_issuer.token(audience='gateway', client_id=f'q-{suffix}', expires_in=600)}"}
        message_ids = [str(uuid.uuid4()) for _ in range(5)]
        for m in message_ids:
            httpx.get(f"{gateway.url}/r1/LA/GOV/Q{suffix}/q/s/x", headers={**headers, "X-Road-Id": m})
    finally:
        gateway.stop()

    journals = list((Path(env["DATA_DIR"]) / "gateway-journal").rglob("*.journal"))
    assert count_rows(engine, message_ids) == 5
    assert journals == []


def test_each_database_has_its_own_journal_folder_whatever_its_password():
    base = GatewaySettings(data_dir=Path("/srv/gateway"), database_url="postgresql://gw:first@db:5432/gateway")

    same_database = GatewaySettings(data_dir=Path("/srv/gateway"), database_url="postgresql://gw:rotated@db:5432/gateway")
    other_database = GatewaySettings(data_dir=Path("/srv/gateway"), database_url="postgresql://gw:first@db:5432/gateway_test")

    assert base.journal_dir == same_database.journal_dir  # a rotated password still finds the orphaned journals
    assert base.journal_dir != other_database.journal_dir  # never replayed into another database
    assert "first" not in str(base.journal_dir)


def test_ids_do_not_repeat_when_the_global_random_generator_is_reseeded():
    import random

    from gateway.messagelog import new_id

    random.seed(7)
    first = new_id()
    random.seed(7)  # what Hypothesis does before every example
    second = new_id()

    assert first != second
