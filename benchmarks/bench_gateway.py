"""Gateway (Information Mediator) vs calling the service directly: added p50 latency and throughput ratio, in one run.

Besides this one, seven processes: two upstreams, two reference forwarders (below) in front of each, and the gateway
(`python -m gateway api`) on a fresh PostgreSQL database and RabbitMQ vhost, with both upstreams registered as services
that the calling application is allowed to use. An upstream is what a building block is: a FastAPI app under uvicorn (one worker)
answering a small pydantic-validated JSON, no database. The target rows use a plain `def` route, as the building blocks'
routes are (they use synchronous database sessions, so FastAPI runs them in its thread pool). The same figures against an
`async def` route, which answers at about three times the rate, are reported beside them without a target: the harshest
case, a service that costs less than the forwarding itself.
Every call through the gateway carries the caller's client-credentials token (verified: signature once, then from the
expiry-bound cache), passes the access check and is written to the message log: journaled (fsync'd) before the response
goes out, then stored hash-chained with one signature per batch. A small OIDC issuer runs in this process (it is asked for
its keys once). The throughput load comes from wrk (Debian's package, C, one thread, `make bench` installs it): the load
generator shares the 2 cores with what it measures, and the aiohttp client this benchmark used before (pooled keep-alive
connector on uvloop, in this process) spent about 280 us of CPU per call, half an upstream's, which a forwarding hop
then competes with (on one host on one day: 0.59 to 0.79 of direct with it, 0.75 to 0.89 with wrk). Without wrk on the
PATH the aiohttp client is used, and the rows say so. The sequential (concurrency 1) latencies come from the aiohttp client: there the
generator's cost is the same on both sides and does not compete.

The issue's reference point is measured in the same run and the same way: a bare forwarder (raw ASGI under uvicorn, one
pooled aiohttp session, no token, access check, log or metrics; the issue measured about 0.75 for it "on this machine";
against the `def` route it gets about that here, against the `async def` route about half). Beside it, the least any
Python forwarder does here (protocol_forwarder.py: asyncio protocols and httptools both ways, the shape of the gateway's
own forwarding client). Their ratios have no target; the gateway's CPU per call against theirs says what the gateway's
guarantees and its ASGI server cost.
BENCH_GATEWAY_WORKERS sets the gateway's API_WORKERS (default 1; the 2 cores are shared with the load and the upstream).

Targets (issue 7): at most 0.5 ms added to the p50 at concurrency 1; at least 0.7 of direct throughput at concurrency 16.
"""
import asyncio
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
from common import SCALE, Row, loaded
from kernel.testing import ServerThread, TestIssuer, free_port

GATEWAY_ROOT = Path(__file__).resolve().parent.parent / "gateway"
API_WORKERS = int(os.environ.get("BENCH_GATEWAY_WORKERS", "1"))
SEQUENTIAL_CALLS = int(2000 * SCALE) or 1
CONCURRENCY = loaded(16)  # 16 at nominal load
THROUGHPUT_SECONDS = 5.0 * SCALE
ADDED_MS_TARGET = 0.5
THROUGHPUT_TARGET = 0.7
WRK = shutil.which("wrk")
LOAD_GENERATOR = "wrk, 1 thread" if WRK else "aiohttp client in the benchmark process (wrk not installed)"
PROVIDER = ("LA", "GOV", "BENCH-PROVIDER", "records")
# Service code in the directory -> the upstream's kind: the building blocks' shape (target rows), and the harsher one.
SERVICES = {"data": "sync", "data-async": "async"}
CLIENT = ("LA", "GOV", "BENCH-CLIENT", "caller")
CLIENT_ID = "bench-caller"


def upstream_app(kind: str):
    """The provider: a FastAPI service as the building blocks are, minus their database work. kind "sync": a `def` route
    (run in the thread pool, as the building blocks' routes are); "async": an `async def` route (on the event loop)."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Items(BaseModel):
        status: str
        items: list[int]

    app = FastAPI()

    if kind == "sync":
        @app.get("/v1/items")
        def list_items() -> Items:
            return Items(status="ok", items=[1, 2, 3])
    else:
        @app.get("/v1/items")
        async def list_items_async() -> Items:
            return Items(status="ok", items=[1, 2, 3])

    return app


def forwarder_app(upstream_url: str):
    """The issue's reference point: the least a Python forwarder does here. A raw ASGI app that sends each call to the
    upstream through one pooled aiohttp session and answers with its status, headers and body: no access check, no
    token, no message log, no metrics. Its ratio shows what this machine allows any Python forwarder, not a target."""
    session: aiohttp.ClientSession | None = None
    hop_by_hop = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"server", b"date"}

    async def app(scope, receive, send):
        nonlocal session
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    session = aiohttp.ClientSession(auto_decompress=False, connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        query = scope["query_string"].decode("latin-1")
        async with session.request(scope["method"], upstream_url + scope["path"] + ("?" + query if query else "")) as upstream:
            body = await upstream.read()
        headers = [(name.lower(), value) for name, value in upstream.raw_headers if name.lower() not in hop_by_hop]
        await send({"type": "http.response.start", "status": upstream.status,
                    "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def _serve(role: str, port: int, argument: str) -> None:
    import uvicorn

    app = upstream_app(argument) if role == "--upstream" else forwarder_app(argument)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def _start_upstream(port: int, kind: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--upstream", str(port), kind], cwd=Path(__file__).parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_forwarder(port: int, upstream_url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--forwarder", str(port), upstream_url], cwd=Path(__file__).parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_protocol_forwarder(port: int, upstream_url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).parent / "protocol_forwarder.py"), str(port), upstream_url],
                            cwd=Path(__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_gateway(*, database_url: str, amqp_url: str, issuer_url: str, port: int, data_dir: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url, "OIDC_ISSUERS": issuer_url, "PORT": str(port),
           "HOST": "127.0.0.1", "API_WORKERS": str(API_WORKERS), "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING",
           "DATA_DIR": data_dir}  # the message log journal
    env.pop("FIXTURES", None)
    return subprocess.Popen([sys.executable, "-m", "gateway", "api"], env=env, cwd=GATEWAY_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_ready(url: str, process: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {what} exited during start-up")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the {what} did not become ready")


def _prepare_database(database_url: str, upstream_urls: dict[str, str]) -> None:
    """Migrate and register the upstream here, before the workers start, so they do not race to do it."""
    from gateway.settings import GatewaySettings
    from kernel.db import make_engine, migrate
    from sqlmodel import Session

    from gateway import registry

    settings = GatewaySettings(database_url=database_url)
    engine = make_engine(settings)
    migrate(engine, "gateway.migrations")
    with Session(engine) as session:
        registry.seed_default_directory(session, settings)
        provider_member = registry.upsert_member(session, instance=PROVIDER[0], member_class=PROVIDER[1], code=PROVIDER[2])
        provider = registry.upsert_application(session, member=provider_member, code=PROVIDER[3])
        client_member = registry.upsert_member(session, instance=CLIENT[0], member_class=CLIENT[1], code=CLIENT[2])
        client = registry.upsert_application(session, member=client_member, code=CLIENT[3], client_id=CLIENT_ID)
        for code, upstream_url in upstream_urls.items():
            service = registry.upsert_service(session, application=provider, code=code, url=upstream_url)
            registry.set_right(session, service=service, client=client, allowed=True)
        session.commit()
    engine.dispose()


def _message_log_rows(database_url: str) -> dict[str, int]:
    from gateway.models import MessageLogEntry
    from gateway.settings import GatewaySettings
    from kernel.db import make_engine
    from sqlalchemy import func
    from sqlmodel import Session, select

    engine = make_engine(GatewaySettings(database_url=database_url))
    with Session(engine) as session:
        counts = dict(session.exec(select(MessageLogEntry.outcome, func.count()).group_by(MessageLogEntry.outcome)).all())
    engine.dispose()
    return counts


def _fsync_ms(directory: str, n: int = 50) -> float:
    """p50 of a small append + fdatasync here: what the journal's sync before each delivered response costs now."""
    path = Path(directory) / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    timings = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            os.write(fd, b"x" * 400)
            os.fdatasync(fd)
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(timings)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers) so far (Linux /proc); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(_cpu_seconds(int(child)) for child in children)


def _connector() -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=CONCURRENCY, keepalive_timeout=60)


async def _sequential_ms(url: str, headers: dict, n: int) -> list[float]:
    latencies = []
    async with aiohttp.ClientSession(headers=headers, connector=_connector()) as http:
        for _ in range(n):
            start = time.perf_counter()
            async with http.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered HTTP {response.status}")
            latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def _wrk_rps(url: str, headers: dict, concurrency: int, seconds: float) -> tuple[float, int]:
    """(requests per second, requests) from wrk's closed loop of `concurrency` keep-alive connections; any non-2xx answer
    or socket error fails the run."""
    command = [WRK, "-t1", f"-c{concurrency}", f"-d{max(1, math.ceil(seconds))}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"{url} failed under load:\n{output}")
    done = int(re.search(r"(\d+) requests in", output).group(1))
    return float(re.search(r"Requests/sec:\s*([\d.]+)", output).group(1)), done


async def _closed_loop_rps(url: str, headers: dict, *, concurrency: int, seconds: float) -> tuple[float, int]:
    """Completed requests per second with `concurrency` callers each sending the next request when the last one ends."""
    if WRK:
        return await asyncio.to_thread(_wrk_rps, url, headers, concurrency, seconds)
    done = 0
    async with aiohttp.ClientSession(headers=headers, connector=_connector()) as http:
        deadline = time.perf_counter() + seconds

        async def caller() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with http.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered HTTP {response.status}")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return done / elapsed, done


def _own_cpu_seconds() -> float:
    """The load generator's CPU time: this process's (the issuer thread is idle while it runs) and its finished
    children's (each wrk run; the benchmark's servers are not waited for until the end)."""
    return sum(usage.ru_utime + usage.ru_stime for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


async def _measure(direct_url: str, sides: dict[str, tuple[str, dict, int]], upstream_pid: int) -> dict:
    """Each side (name: url, headers, pid) against direct, the same way: p50 at concurrency 1, throughput, CPU per call."""
    # Warm-up: connections open, the gateway's workers load the directory and verify the token once each.
    warm_up = {name: (await _closed_loop_rps(url, headers, concurrency=CONCURRENCY, seconds=1.0))[1]
               for name, (url, headers, _) in sides.items()}
    await _closed_loop_rps(direct_url, {}, concurrency=CONCURRENCY, seconds=0.5)
    # Halves interleaved, so a drift in the machine's load does not favour one side.
    half = max(1, SEQUENTIAL_CALLS // 2)
    latencies = {name: [] for name in ["direct", *sides]}
    for _ in range(2):
        latencies["direct"] += await _sequential_ms(direct_url, {}, half)
        for name, (url, headers, _) in sides.items():
            latencies[name] += await _sequential_ms(url, headers, half)
    rps = {name: [] for name in ["direct", *sides]}
    calls, cpu = dict.fromkeys(sides, 0), dict.fromkeys(sides, 0.0)
    upstream_cpu, load_cpu = dict.fromkeys(sides, 0.0), dict.fromkeys(sides, 0.0)
    for _ in range(2):
        rps["direct"].append((await _closed_loop_rps(direct_url, {}, concurrency=CONCURRENCY, seconds=THROUGHPUT_SECONDS / 2))[0])
        for name, (url, headers, pid) in sides.items():
            cpu_before, upstream_before, load_before = _cpu_seconds(pid), _cpu_seconds(upstream_pid), _own_cpu_seconds()
            side_rps, side_calls = await _closed_loop_rps(url, headers, concurrency=CONCURRENCY, seconds=THROUGHPUT_SECONDS / 2)
            cpu[name] += _cpu_seconds(pid) - cpu_before
            # Where the 2 shared cores go besides the forwarder: the upstream and the load generator, per call.
            upstream_cpu[name] += _cpu_seconds(upstream_pid) - upstream_before
            load_cpu[name] += _own_cpu_seconds() - load_before
            rps[name].append(side_rps)
            calls[name] += side_calls
    # Throughput on a shared machine depends on the CPU left to us; a process's CPU per call does not.
    result = {f"{name}_p50": statistics.median(values) for name, values in latencies.items()}
    result.update({f"{name}_rps": statistics.mean(values) for name, values in rps.items()})
    result.update({f"{name}_cpu_us": cpu[name] / calls[name] * 1e6 for name in sides})
    result.update({f"{name}_upstream_cpu_us": upstream_cpu[name] / calls[name] * 1e6 for name in sides})
    result.update({f"{name}_load_cpu_us": load_cpu[name] / calls[name] * 1e6 for name in sides})
    result["gateway_calls"] = warm_up["gateway"] + len(latencies["gateway"]) + calls["gateway"]
    result["load_average"] = os.getloadavg()[0]
    return result


def _run_loop(coroutine):
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


def measure(infrastructure) -> dict:
    """{"sync": figures, "async": figures, "fsync_ms", "logged", "gateway_calls"}: each upstream kind measured in turn."""
    issuer = TestIssuer()
    issuer_server = ServerThread(issuer.app(), free_port())
    issuer.url = issuer_server.url
    issuer_server.start()
    gateway_port = free_port()
    gateway_base = f"http://127.0.0.1:{gateway_port}"
    ports = {kind: (free_port(), free_port(), free_port()) for kind in SERVICES.values()}  # upstream, its two forwarders
    upstream_urls = {kind: f"http://127.0.0.1:{upstream}" for kind, (upstream, _, _) in ports.items()}
    forwarder_urls = {kind: f"http://127.0.0.1:{forwarder}" for kind, (_, forwarder, _) in ports.items()}
    protocol_urls = {kind: f"http://127.0.0.1:{forwarder}" for kind, (_, _, forwarder) in ports.items()}
    database_url = infrastructure.new_database("bench_gateway")
    data_dir = tempfile.TemporaryDirectory(prefix="bench-gateway-")
    processes: list[subprocess.Popen] = []
    upstreams, forwarders, protocol_forwarders = {}, {}, {}
    result: dict = {}
    try:
        for kind, (upstream_port, forwarder_port, protocol_port) in ports.items():
            upstreams[kind] = _start_upstream(upstream_port, kind)
            forwarders[kind] = _start_forwarder(forwarder_port, upstream_urls[kind])
            protocol_forwarders[kind] = _start_protocol_forwarder(protocol_port, upstream_urls[kind])
            processes += [upstreams[kind], forwarders[kind], protocol_forwarders[kind]]
        _prepare_database(database_url, {code: upstream_urls[kind] for code, kind in SERVICES.items()})
        gateway = _start_gateway(database_url=database_url, amqp_url=infrastructure.new_vhost("bench_gateway"),
                                 issuer_url=issuer.url, port=gateway_port, data_dir=data_dir.name)
        processes.append(gateway)
        for kind in ports:
            _wait_ready(upstream_urls[kind] + "/", upstreams[kind], f"{kind} upstream")
            _wait_ready(forwarder_urls[kind] + "/v1/items", forwarders[kind], f"bare forwarder of the {kind} upstream")
            _wait_ready(protocol_urls[kind] + "/v1/items", protocol_forwarders[kind], f"protocol forwarder of the {kind} upstream")
        _wait_ready(gateway_base + "/health/ready", gateway, "gateway")
        token = issuer.token(sub=CLIENT_ID, audience="gateway", client_id=CLIENT_ID, expires_in=3600)
        headers = {"Information-Mediator-Client": "/".join(CLIENT), "Authorization": f"Bearer {token}"}
        result["gateway_calls"] = 0
        for code, kind in SERVICES.items():
            gateway_url = f"{gateway_base}/r1/{'/'.join(PROVIDER)}/{code}/v1/items"
            sides = {"gateway": (gateway_url, headers, gateway.pid),
                     "forwarder": (forwarder_urls[kind] + "/v1/items", {}, forwarders[kind].pid),
                     "protocol": (protocol_urls[kind] + "/v1/items", {}, protocol_forwarders[kind].pid)}
            result[kind] = _run_loop(_measure(upstream_urls[kind] + "/v1/items", sides, upstreams[kind].pid))
            result["gateway_calls"] += result[kind]["gateway_calls"]
        result["fsync_ms"] = _fsync_ms(data_dir.name)
    finally:
        for process in reversed(processes):  # the gateway first: it flushes its message log on the way out
            process.terminate()
            process.wait(timeout=30)
        issuer_server.stop()
        data_dir.cleanup()
    # The message log is part of what is measured: after a clean stop every exchange must be in it, as delivered.
    result["logged"] = _message_log_rows(database_url)
    return result


def run(infrastructure) -> list[Row]:
    m = measure(infrastructure)
    s, a = m["sync"], m["async"]
    sync_seconds = float(os.environ.get("MESSAGE_LOG_SYNC_SECONDS", "0") or 0)
    sync = "synced before each response" if not sync_seconds else f"written before each response, synced every {sync_seconds:g} s"
    note = (f"direct p50 {s['direct_p50']:.2f} ms, through the gateway {s['gateway_p50']:.2f} ms; target <= {ADDED_MS_TARGET:g} ms added; "
            f"upstream: a FastAPI service under uvicorn, one `def` route as the building blocks' routes are, small JSON, no database; "
            f"message log journal {sync}, fdatasync p50 {m['fsync_ms']:.2f} ms on this disk now; "
            f"{API_WORKERS} gateway worker(s), {os.cpu_count()} cores; message log: {m['logged'].get('delivered', 0)} exchanges "
            f"logged as delivered for {m['gateway_calls']} calls counted by the load generators"
            + (f" (wrk does not count the up to {CONCURRENCY} calls still in flight when each of its runs ends)" if WRK else ""))

    def forwarder_row(f: dict, upstream: str, side: str = "forwarder") -> Row:
        # Reference points, no target: the bare pooled aiohttp forwarder, and the protocol forwarder (neither has
        # a token, access check or log).
        what = {"forwarder": "bare aiohttp forwarder", "protocol": "protocol forwarder"}[side]
        return Row(f"{what} throughput at concurrency {CONCURRENCY} vs direct, {upstream} (reference)",
                   f[f"{side}_rps"], f["direct_rps"], "req/s",
                   note=f"direct, same upstream; its added p50 {f[f'{side}_p50'] - f['direct_p50']:.2f} ms; "
                        f"CPU per call: forwarder {f[f'{side}_cpu_us']:.0f} us, upstream {f[f'{side}_upstream_cpu_us']:.0f} us, "
                        f"load generator ({LOAD_GENERATOR}) {f[f'{side}_load_cpu_us']:.0f} us")

    return [
        # The Row holds a ratio target: (direct + 0.5 ms) / direct makes "met" mean "at most 0.5 ms added".
        Row("gateway p50 latency at concurrency 1 vs direct", s["gateway_p50"], s["direct_p50"], "ms",
            round((s["direct_p50"] + ADDED_MS_TARGET) / s["direct_p50"], 2), higher_is_better=False, note=note),
        Row(f"gateway throughput at concurrency {CONCURRENCY} vs direct", s["gateway_rps"], s["direct_rps"], "req/s",
            THROUGHPUT_TARGET, note=f"direct, same upstream (`def` route); added p50 {s['gateway_p50'] - s['direct_p50']:.2f} ms; "
                                 f"CPU per call: gateway {s['gateway_cpu_us']:.0f} us, upstream {s['gateway_upstream_cpu_us']:.0f} us, "
                                 f"load generator ({LOAD_GENERATOR}) {s['gateway_load_cpu_us']:.0f} us; load average {s['load_average']:.1f}"),
        forwarder_row(s, "`def` route"),
        forwarder_row(s, "`def` route", "protocol"),
        # No target: the same gateway in front of a route that costs less than the forwarding itself.
        Row(f"gateway throughput at concurrency {CONCURRENCY} vs direct, `async def` route (harsher, no target)",
            a["gateway_rps"], a["direct_rps"], "req/s",
            note=f"direct, same upstream; added p50 {a['gateway_p50'] - a['direct_p50']:.2f} ms (direct p50 {a['direct_p50']:.2f} ms); "
                 f"CPU per call: gateway {a['gateway_cpu_us']:.0f} us, upstream {a['gateway_upstream_cpu_us']:.0f} us, "
                 f"load generator ({LOAD_GENERATOR}) {a['gateway_load_cpu_us']:.0f} us; load average {a['load_average']:.1f}"),
        forwarder_row(a, "`async def` route"),
        forwarder_row(a, "`async def` route", "protocol"),
    ]


if __name__ == "__main__":  # the upstream and forwarder processes this benchmark starts; run it with benchmarks/run.py gateway
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])
