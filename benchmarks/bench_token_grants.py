"""Identity: client-credentials grants with private_key_jwt per second per core, against a real identity server process.

Baseline: Keycloak's sizing guide gives about 120 client-credentials grants per second per vCPU. The server runs as one
uvicorn process (at most one core's worth of Python: the GIL); a few client threads in this process keep it busy, each
request carrying a fresh RS256 assertion (signed before timing, so client-side signing is not counted against the server).
"""
import os
import threading
import time
import uuid
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from common import Row, loaded, scaled, start_service
from kernel.db import UnitOfWork, make_engine
from kernel.testing import free_port

KEYCLOAK_GRANTS_PER_VCPU = 120.0
CLIENT_THREADS = 4


def _assertions(key: RSAKey, client_id: str, audience: str, n: int) -> list[str]:
    now = int(time.time())
    return [jwt.encode({"alg": "RS256", "kid": key.kid}, {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                                                           "exp": now + 300, "jti": uuid.uuid4().hex}, key) for _ in range(n)]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def grants_per_second(infrastructure, n: int) -> tuple[float, float, int]:
    """(grants per wall-clock second, grants per CPU-second of the server process, n)."""
    from identity import service_accounts
    from identity.settings import IdentitySettings

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = IdentitySettings(database_url=infrastructure.new_database("bench_identity"), amqp_url=infrastructure.new_vhost("bench_identity"),
                                port=port, public_url=base_url, environment="test")
    process = start_service("identity", {"DATABASE_URL": settings.database_url, "AMQP_URL": settings.amqp_url, "PORT": str(port),
                                         "HOST": "127.0.0.1", "PUBLIC_URL": base_url, "ENVIRONMENT": "test"}, timeout=30)
    try:
        key = RSAKey.generate_key(2048, parameters={"kid": "bench", "use": "sig"})
        engine = make_engine(settings)
        with UnitOfWork(engine, source="bench") as uow:
            service_accounts.upsert(uow.session, client_id="bench-service", name="Benchmark", public_key=key.as_dict(private=False),
                                    scopes=["bench"], roles=["bench"])
            uow.commit()
        engine.dispose()
        token_endpoint = f"{base_url}/oauth/token"
        warmup, measured = _assertions(key, "bench-service", token_endpoint, 50), _assertions(key, "bench-service", token_endpoint, n)
        failures: list[int] = []

        def send(assertions: list[str]) -> None:
            with httpx.Client(timeout=10) as http:
                for assertion in assertions:
                    response = http.post(token_endpoint, data={
                        "grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        "client_assertion": assertion, "scope": "bench"})
                    if response.status_code != 200:
                        failures.append(response.status_code)

        send(warmup)
        cpu_before = _cpu_seconds(process.pid)
        chunks = [measured[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]
        threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        server_cpu = _cpu_seconds(process.pid) - cpu_before
        if failures:
            raise RuntimeError(f"{len(failures)} grants failed, e.g. HTTP {failures[0]}")
        return n / elapsed, n / server_cpu, n
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(infrastructure) -> list[Row]:
    wall_rate, per_cpu_second, n = grants_per_second(infrastructure, scaled(loaded(1500)))  # the load is the number of grants
    # Keycloak's figure is per vCPU of Keycloak itself, with its database sized separately; so is ours: grants per CPU-second
    # the identity process used. PostgreSQL and the client threads share this machine's cores, which is why the wall-clock
    # rate of one process is shown beside it.
    return [Row("identity: client-credentials grants (private_key_jwt) per server CPU-second", per_cpu_second, KEYCLOAK_GRANTS_PER_VCPU,
                "grants/s/core", target_ratio=5,
                note=f"Keycloak sizing guide; {n} grants, {CLIENT_THREADS} client threads, {wall_rate:.0f} grants/s wall clock, 1 process")]
