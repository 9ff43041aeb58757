"""`make run` brings every service to ready and stops cleanly on Ctrl-C."""
import contextlib
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import time
from pathlib import Path
from unittest import mock

import httpx

from kernel.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
# Each process and its port offset from PORT_BASE, as in deploy/local/run.py.
SERVICES = {"gateway": 0, "identity": 1, "registration": 2, "consent": 3, "messaging": 4, "web": 80}


def free_port_base(offsets) -> int:
    for _ in range(100):
        base = random.randrange(10000, 32000, 10)  # below the ephemeral range, where the OS hands out client ports
        if all(_is_free(base + offset) for offset in offsets):
            return base
    raise RuntimeError("no free port range")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def make_run(infrastructure, tmp_path, **extra_env):
    """`make run` on free ports until ready; yields (base port, log path); then Ctrl-C and checks a clean stop."""
    base = free_port_base(SERVICES.values())
    env = {**os.environ, "PORT_BASE": str(base), "DATA_DIR": str(tmp_path / "data"),
           "AMQP_URL": infrastructure.new_vhost("make_run"), "LOG_FORMAT": "text"}
    env.pop("DATABASE_URL", None)  # SQLite files, unless the test gives a PostgreSQL server
    env.update(extra_env)
    log_path = tmp_path / "run.log"
    run = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log_path.open("w+b"), stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        wait_until(lambda: b"All services are ready" in log_path.read_bytes() or run.poll() is not None,
                   timeout=240, interval=0.5, message="make run to report ready")
        assert run.poll() is None, log_path.read_text()
        yield base, log_path
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert "all services stopped" in output
    assert "did not stop in time" not in output
    assert "Traceback" not in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_is_free(base + offset) for offset in SERVICES.values()):
        time.sleep(0.2)
    assert all(_is_free(base + offset) for offset in SERVICES.values())


def test_make_run_starts_everything_and_stops_cleanly(infrastructure, tmp_path):
    with make_run(infrastructure, tmp_path) as (base, _):
        for name, offset in SERVICES.items():
            response = httpx.get(f"http://127.0.0.1:{base + offset}/health/ready", timeout=5)
            assert response.status_code == 200, name
        assert len(list((tmp_path / "data").glob("*.db"))) == len(SERVICES)  # one SQLite database per service


def test_without_smtp_host_mail_goes_to_a_local_sink(infrastructure, tmp_path):
    env_without_smtp = {key: value for key, value in os.environ.items() if not key.startswith("SMTP_")}
    with mock.patch.dict(os.environ, env_without_smtp, clear=True), make_run(infrastructure, tmp_path) as (_, log_path):
        host, port = re.search(r"mail sink +smtp://([0-9.]+):(\d+)", log_path.read_text()).groups()
        with smtplib.SMTP(host, int(port), timeout=10) as smtp:  # what the Messaging BB's delivery worker does
            smtp.sendmail("no-reply@messaging.gov.la", ["someone@example.la"], b"Subject: test\r\n\r\nhello\r\n")
        wait_until(lambda: "saved as" in log_path.read_text(), timeout=10, message="the sink's log line")

    [saved] = list((tmp_path / "data" / "mail-sink").glob("*.eml"))
    assert b"hello" in saved.read_bytes()
    assert "someone@example.la" not in log_path.read_text()  # the log says a mail arrived, never to whom


def test_conformance_fixtures_start_on_fresh_state_with_govstack_data(infrastructure, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "consent.db").write_bytes(b"left over from an earlier run, not a database")
    (tmp_path / "data" / "mail-sink").mkdir()
    (tmp_path / "data" / "mail-sink" / "earlier.eml").write_bytes(b"Subject: an earlier run's mail\r\n\r\nhello\r\n")

    with make_run(infrastructure, tmp_path, FIXTURES="conformance") as (base, _):
        agreement = httpx.get(f"http://127.0.0.1:{base + SERVICES['consent']}/service/data-agreement/1/", timeout=5)
        services = httpx.get(f"http://127.0.0.1:{base + SERVICES['registration']}/services", timeout=5,
                             headers={"Information-Mediator-Client": "LA/GOV/LA-DGC/test"})

    assert agreement.status_code == 200  # the GovStack suite's data agreement "1"
    assert not (tmp_path / "data" / "mail-sink" / "earlier.eml").exists()  # fresh state: no mail of the earlier one
    assert services.status_code == 200 and len(services.json()) > 0


def test_make_run_explains_an_unreachable_broker(tmp_path):
    env = {**os.environ, "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port_base([0])}/", "DATA_DIR": str(tmp_path)}

    result = subprocess.run(["make", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert "RabbitMQ is not reachable" in result.stderr
    assert "rabbitmq-server" in result.stderr


def test_per_service_databases_are_made_when_the_named_database_does_not_exist(infrastructure):
    # DATABASE_URL=postgresql://.../govstack names the prefix of the services' databases (govstack_gateway, ...): a
    # database called "govstack" itself need not exist (make run failed with 'database "govstack" does not exist').
    import importlib.util
    import uuid

    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    spec = importlib.util.spec_from_file_location("local_run", ROOT / "deploy" / "local" / "run.py")
    local_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_run)
    prefix = f"walk_{uuid.uuid4().hex[:10]}"
    admin = urlsplit(infrastructure.postgres_admin_url)
    try:
        url = local_run.per_service_database(urlunsplit(admin._replace(path="/" + prefix)), "consent")
        assert urlsplit(url).path == f"/{prefix}_consent"
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT current_database()").fetchone()[0] == f"{prefix}_consent"
    finally:
        with psycopg.connect(infrastructure.postgres_admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{prefix}_consent" WITH (FORCE)')
