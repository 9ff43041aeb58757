"""A composed citizen application, end to end, at 50 concurrent citizens: consent (Consent BB) -> submit (Registration
BB, which checks the consent through the gateway) -> reviewer and registrar approve (the registry record) -> the
approval email arrives (Messaging BB, from the registration event over RabbitMQ) at a local SMTP server.

The whole suite runs as `make run` runs it (deploy/local/run.py: every service's api, relay and consumer as separate
processes, FIXTURES=demo, one PostgreSQL database per service), so nothing here is in-process except the SMTP sink
and a token issuer for the simulated citizens and operators (trusted through OIDC_ISSUERS like any other issuer).
Every call goes through the gateway as the portal application does. Reported: p50 and p95 of the whole journey per
citizen, and of the submission step alone, at 50 concurrent citizens, next to the same journey for one citizen at a
time in the same run.
"""
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

from common import Row, loaded, scaled
from kernel.httpclient import new_client
from kernel.testing import ServerThread, TestIssuer, free_port

ROOT = Path(__file__).resolve().parents[1]
CONCURRENT_CITIZENS = 50
SEQUENTIAL_CITIZENS = 5
PORTAL = {"Information-Mediator-Client": "LA/GOV/LA-DGC/web-portal"}
AUDIENCES = ["gateway", "govstack-portal", "registration", "consent"]
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class Inbox:
    """The SMTP sink: when each recipient's approval mail arrived."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if b"Subject:" in envelope.original_content:
            now = time.perf_counter()
            with self.changed:
                for recipient in envelope.rcpt_tos:
                    # The submission receipt arrives first; the approval mail is the second one.
                    self.arrived[recipient] = now if recipient in self.arrived else -now
                self.changed.notify_all()
        return "250 OK"

    def wait_approval(self, recipient: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.arrived.get(recipient, -1) < 0:
                if not self.changed.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no approval mail within {timeout:.0f}s")
            return self.arrived[recipient]


class Suite:
    """deploy/local/run.py with the demo fixtures on free ports, stopped with it."""

    def __init__(self, infrastructure, issuer_url: str, smtp_port: int):
        self.base = _free_port_block()
        identity = f"http://localhost:{self.base + 1}"
        env = {**os.environ, "PORT_BASE": str(self.base), "FIXTURES": "demo", "LOG_LEVEL": "WARNING",
               "DATABASE_URL": infrastructure.new_database("bench_composed"), "AMQP_URL": infrastructure.new_vhost("bench_composed"),
               "DATA_DIR": _tmp_dir(),
               "OIDC_ISSUERS": f"{identity},{issuer_url}", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
        self.process = subprocess.Popen([sys.executable, str(ROOT / "deploy/local/run.py")], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            for line in iter(self.process.stdout.readline, b""):
                text = line.decode(errors="replace")
                self.output.append(text)
                if "All services are ready" in text:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(240) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("the suite did not start:\n" + "".join(self.output[-40:]))
        self.gateway = f"http://127.0.0.1:{self.base}"
        self.registration = f"http://127.0.0.1:{self.base + 2}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _free_port_block() -> int:
    """A base port whose offsets 0-4 and 80 (run.py's layout) are all free."""
    for _ in range(50):
        base = free_port()
        if base + 80 < 65535 and all(_port_free(base + offset) for offset in (0, 1, 2, 3, 4, 80)):
            return base
    raise RuntimeError("no free block of ports")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _tmp_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-composed-")


class Journey:
    """One citizen's enterprise registration through the gateway, as the portal would make the calls."""

    def __init__(self, suite: Suite, issuer: TestIssuer, inbox: Inbox, service_id: str, agreement_id: str):
        self.suite, self.issuer, self.inbox = suite, issuer, inbox
        self.service_id, self.agreement_id = service_id, agreement_id

    def headers(self, sub: str, roles: list[str] = ()) -> dict:
        token = self.issuer.token(sub=sub, audience=AUDIENCES, roles=list(roles), client_id="govstack-portal", expires_in=900)
        return {**PORTAL, "Authorization": f"Bearer {token}"}

    def bb(self, name: str, path: str) -> str:
        return f"{self.suite.gateway}/r1/LA/GOV/LA-DGC/{name}-bb/{name}/{path.lstrip('/')}"

    def run(self) -> tuple[float, float]:
        """(seconds from the first call to the approval mail, seconds the submission took)."""
        # Shaped like the Identity BB's pairwise subjects (43 url-safe characters), which the Consent BB uses as ids.
        citizen = self.headers(secrets.token_urlsafe(32))
        recipient = f"owner-{uuid.uuid4().hex[:10]}@example.la"
        # A TLS context built once (kernel.httpclient), as a browser has: httpx builds one per client, 35 ms of the
        # 2 shared cores per journey that the services would not have had.
        with new_client(timeout=60) as http:
            started = time.perf_counter()
            self.consent(http, citizen)
            document = _ok(http.post(self.bb("registration", "documents"), headers=citizen,
                                     params={"serviceId": self.service_id, "documentType": "owner_id_card"},
                                     files={"file": ("id.pdf", PDF, "application/pdf")}))["url"]
            data = {"company_name_lo": "ບໍລິສັດ ທົດສອບ ຈຳກັດ", "company_name_en": "Bench Co., Ltd", "activity": "retail",
                    "province": "VTE", "district": "Sisattanak", "registered_capital_lak": 50000000,
                    "owner_name": "Bench Owner", "owner_id_number": "LA-000000", "owner_email": recipient}
            submit_started = time.perf_counter()
            file_id = _ok(http.post(self.bb("registration", f"services/{self.service_id}/applications"), headers=citizen,
                                    json={"applicationName": "Bench", "language": "lo", "documentUrls": [document],
                                          "formData": {"eFormId": "ler-application", "data": data}}))["fileId"]
            submitted = time.perf_counter() - submit_started
            for role in ("enterprise_reviewer", "enterprise_registrar"):
                operator = self.headers(f"operator-{role}", [role])
                tasks = _ok(http.get(self.bb("registration", "tasks"), headers=operator, params={"fileId": file_id}))
                [task] = [t for t in tasks if t["status"]["code"] == "PENDING"]
                _ok(http.post(self.bb("registration", f"tasks/{task['taskId']}/complete"), headers=operator,
                              json={"data": {"decision": "approve", "reason": "in order"}}))
        arrived = self.inbox.wait_approval(recipient, timeout=120)
        return arrived - started, submitted

    def consent(self, http: httpx.Client, citizen: dict) -> None:
        individual = _ok(http.post(self.bb("consent", "service/individual/"), headers=citizen, json={"individual": {}}))
        draft = _ok(http.post(self.bb("consent", "service/individual/record/consent-record/draft/"), headers=citizen,
                              params={"individualId": individual["individual"]["id"], "dataAgreementId": self.agreement_id}))
        record = {key: draft["consentRecord"][key] for key in
                  ("dataAgreementId", "dataAgreementRevisionId", "dataAgreementRevisionHash", "individualId")}
        signature = {key: value for key, value in draft["signature"].items() if key not in ("id", "signature")}
        _ok(http.post(self.bb("consent", "service/individual/record/consent-record/"), headers=citizen,
                      json={"consentRecord": {**record, "optIn": True}, "signature": signature}))


def _attempt(journey: Journey):
    """A journey's timings, or the error that ended it: a failed citizen is reported, not hidden."""
    try:
        return journey.run()
    except Exception as exc:  # noqa: BLE001 - any failure of one journey is a result to report
        return exc


def _first_words(error: Exception) -> str:
    return str(error)[:90]


def _ok(response: httpx.Response):
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text[:300]}")
    return response.json()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run(infrastructure) -> list[Row]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    issuer = TestIssuer()
    issuer_server = ServerThread(issuer.app(), free_port())
    issuer.url = issuer_server.url
    issuer_server.start()
    suite = Suite(infrastructure, issuer.url, smtp.port)
    try:
        # The demo Lao enterprise registration and its data agreement, from the public catalogue.
        [service] = [s for s in _ok(httpx.get(f"{suite.registration}/catalogue/services")) if s["code"] == "LER"]
        detail = _ok(httpx.get(f"{suite.registration}/catalogue/services/{service['id']}"))
        journey = Journey(suite, issuer, inbox, service["id"], detail["consent"]["dataAgreementId"])
        journey.run()  # warm-up: connection pools, JWKS caches, first-query plans
        alone = [journey.run() for _ in range(scaled(SEQUENTIAL_CITIZENS))]
        citizens = loaded(CONCURRENT_CITIZENS)
        with ThreadPoolExecutor(citizens) as pool:
            outcomes = list(pool.map(lambda _: _attempt(journey), range(citizens)))
        together = [o for o in outcomes if not isinstance(o, Exception)]
        failures = [o for o in outcomes if isinstance(o, Exception)]
        if not together:
            raise RuntimeError(f"every journey failed, e.g. {failures[0]}")
    finally:
        suite.stop()
        issuer_server.stop()
        smtp.stop()
    alone_p50 = statistics.median(total for total, _ in alone) * 1000
    alone_submit = statistics.median(submit for _, submit in alone) * 1000
    totals = [total * 1000 for total, _ in together]
    submits = [submit * 1000 for _, submit in together]
    failed = f"; {len(failures)} of {citizens} journeys failed ({_first_words(failures[0])})" if failures else ""
    note = (f"one citizen at a time, p50 of {len(alone)}; {citizens} concurrent citizens, all services as `make run` starts "
            f"them, one API worker each{failed}")
    submit_note = f"submission incl. consent check through the gateway, one citizen at a time, p50 of {len(alone)}"
    return [
        Row(f"composed application p50 at {citizens} concurrent citizens (consent -> submit -> approve -> email)",
            statistics.median(totals), alone_p50, "ms", None, higher_is_better=False, note=note),
        Row(f"composed application p95 at {citizens} concurrent citizens", _percentile(totals, 95), alone_p50, "ms", None,
            higher_is_better=False, note=note),
        Row(f"submission with consent check p50 at {citizens} concurrent citizens", statistics.median(submits), alone_submit,
            "ms", None, higher_is_better=False, note=submit_note),
        Row(f"submission with consent check p95 at {citizens} concurrent citizens", _percentile(submits, 95), alone_submit,
            "ms", None, higher_is_better=False, note=submit_note),
    ]

