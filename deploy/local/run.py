"""`make run`: every service, the gateway, their outbox relays and consumers as separate local processes.

SQLite files under DATA_DIR unless DATABASE_URL is set (then one PostgreSQL database per service, named
<database>_<service>); RabbitMQ at AMQP_URL. Waits until all are ready, prints their URLs, streams their logs with a
prefix per process, and stops them all on Ctrl-C. FIXTURES=conformance|demo starts on fresh state with that data.
Without SMTP_HOST, the Messaging BB's email goes to a local mail sink that saves each mail under DATA_DIR/mail-sink/.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pika
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
# (package, offset from PORT_BASE); the gateway first, since it is what callers use.
SERVICES = [("gateway", 0), ("identity", 1), ("registration", 2), ("consent", 3), ("messaging", 4), ("web", 80)]
PROCESSES = ("api", "relay", "consumer")
# The services that consume events: relays publish once their queues exist, so none is dropped on a fresh broker.
EVENT_CONSUMERS = ("gateway", "consent", "messaging")
COLORS = ["36", "33", "32", "35", "34", "31"]


def main() -> int:
    port_base = int(os.environ.get("PORT_BASE", "8000"))
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / "data")).resolve()
    fixtures = os.environ.get("FIXTURES", "")
    if not broker_reachable(amqp_url):
        print(f"RabbitMQ is not reachable at {redact_url(amqp_url)}.\n"
              "Start one, e.g. `rabbitmq-server -detached` (Debian package rabbitmq-server) or\n"
              "`docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3.13-management`, or set AMQP_URL.", file=sys.stderr)
        return 1
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: port_base + offset for name, offset in SERVICES}
    envs = {name: service_env(name, ports, amqp_url, data_dir, fixtures) for name, _ in SERVICES}
    mail_sink, mail_sink_port = None, None
    if not os.environ.get("SMTP_HOST"):
        mail_sink_port = free_local_port()
        envs["messaging"].update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail_sink_port))
    if fixtures:
        print(f"FIXTURES={fixtures}: starting on fresh state")
        for name, _ in SERVICES:
            reset(name, envs[name], data_dir)
        # The earlier state's mails too: they were sent to its people, and a fresh demo shows only its own.
        shutil.rmtree(data_dir / "mail-sink", ignore_errors=True)

    children: list[tuple[str, subprocess.Popen]] = []
    colors: dict[str, str] = {}
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for index, (name, _) in enumerate(SERVICES):
            for process in PROCESSES:
                label = f"{name}-{process}" if process != "api" else name
                child = subprocess.Popen([sys.executable, "-m", name, process], cwd=ROOT, env=envs[name],
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=die_with_parent)
                children.append((label, child))
                colors[label] = COLORS[index]
        # Log threads (and the mail sink's) start only after every fork: preexec_fn in a process with other threads can deadlock.
        for label, child in children:
            threading.Thread(target=stream, args=(label, colors[label], child), daemon=True).start()
        if mail_sink_port:
            mail_sink = start_mail_sink(data_dir / "mail-sink", mail_sink_port)
        if not wait_ready(ports, children, stop):
            return 1
        print("\nAll services are ready:")
        for name, _ in SERVICES:
            print(f"  {name:<13} http://localhost:{ports[name]}   (health: /health/ready, API docs: /docs)")
        if mail_sink:
            print(f"  {'mail sink':<13} smtp://{mail_sink.hostname}:{mail_sink.port}   (no SMTP_HOST set: mails are saved in "
                  f"{mail_sink.handler.folder})")
        print("Press Ctrl-C to stop.\n", flush=True)
        while not stop.wait(0.5):
            for label, child in children:
                if child.poll() is not None:
                    print(f"{label} exited with code {child.returncode}; stopping everything", file=sys.stderr)
                    return 1
        return 0
    finally:
        shutdown(children)
        if mail_sink:
            mail_sink.stop()


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the launcher dies, even by SIGKILL, so no service outlives `make run`."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def service_env(name: str, ports: dict[str, int], amqp_url: str, data_dir: Path, fixtures: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "SERVICE_NAME": name, "PORT": str(ports[name]), "HOST": "127.0.0.1", "AMQP_URL": amqp_url,
        "DATA_DIR": str(data_dir), "PUBLIC_URL": f"http://localhost:{ports[name]}",
        "GATEWAY_URL": f"http://localhost:{ports['gateway']}",
        "OIDC_ISSUERS": env.get("OIDC_ISSUERS", f"http://localhost:{ports['identity']}"),
        "FIXTURES": fixtures, "PYTHONUNBUFFERED": "1", "RELAY_AWAIT_QUEUES": ",".join(EVENT_CONSUMERS),
    })
    for other in ("identity", "registration", "consent", "messaging"):
        env[f"{other.upper()}_URL"] = f"http://localhost:{ports[other]}"
    env["PORTAL_URL"] = f"http://localhost:{ports['web']}"  # identity's demo data registers the portal's sign-in callback
    own = env.get(f"{name.upper()}_DATABASE_URL")
    if own:
        env["DATABASE_URL"] = own
    elif env.get("DATABASE_URL"):
        env["DATABASE_URL"] = per_service_database(env["DATABASE_URL"], name)
    else:
        env.pop("DATABASE_URL", None)  # the service's SQLite file under DATA_DIR
    return env


def per_service_database(url: str, name: str) -> str:
    """Each service owns a database: <database>_<service> on the same server, created when missing."""
    import psycopg

    parts = urlsplit(url)
    database = f"{parts.path.lstrip('/') or 'govstack'}_{name}"
    # The URL's database only names the prefix and need not exist: connect to it if it does, else to `postgres`.
    try:
        connection = psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True)
    except psycopg.OperationalError:
        connection = psycopg.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres")), autocommit=True)
    with connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{database}"')
    return urlunsplit(parts._replace(path="/" + database))


def reset(name: str, env: dict[str, str], data_dir: Path) -> None:
    if "DATABASE_URL" in env:
        subprocess.run([sys.executable, "-m", name, "reset"], cwd=ROOT, env=env, check=True)
    # SQLite files and whatever else the service keeps there, e.g. uploaded documents.
    for path in data_dir.glob(f"{name}*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


class MailFolder:
    """aiosmtpd handler: each accepted mail becomes one .eml file; only its file name is logged (mails carry personal data)."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.eml"
        path.write_bytes(envelope.original_content)
        print(f"{'mail-sink':<22}| mail for {len(envelope.rcpt_tos)} recipient(s) saved as {path.name}", flush=True)
        return "250 OK"


def start_mail_sink(folder: Path, port: int) -> Controller:
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(MailFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def free_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def broker_reachable(amqp_url: str) -> bool:
    params = pika.URLParameters(amqp_url)
    params.connection_attempts, params.socket_timeout = 1, 3
    try:
        pika.BlockingConnection(params).close()
        return True
    except Exception:
        return False


def stream(label: str, color: str, child: subprocess.Popen) -> None:
    prefix = f"\033[{color}m{label:<22}|\033[0m " if sys.stdout.isatty() else f"{label:<22}| "
    for line in iter(child.stdout.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


def wait_ready(ports: dict[str, int], children, stop: threading.Event, timeout: float = 180) -> bool:
    pending = dict(ports)
    deadline = time.monotonic() + timeout
    while pending and not stop.is_set():
        for name, port in list(pending.items()):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        for label, child in children:
            if child.poll() is not None:
                print(f"{label} exited with code {child.returncode} during start-up", file=sys.stderr)
                return False
        if time.monotonic() > deadline:
            print(f"not ready after {timeout:.0f}s: {', '.join(pending)}", file=sys.stderr)
            return False
        time.sleep(0.3)
    return not pending


def shutdown(children) -> None:
    for _, child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for label, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{label} did not stop in time; killed", file=sys.stderr)
            child.kill()
    print("all services stopped")


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


if __name__ == "__main__":
    sys.exit(main())
