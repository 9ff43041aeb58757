"""Monitoring: Prometheus metrics, operational records without payloads, environmental data."""
import uuid

import httpx

from kernel.testing import wait_until


def test_metrics_count_exchanges_per_client_and_service(exchange, base_url, admin_headers):
    httpx.get(exchange.url(path="x"), headers=exchange.headers())

    metrics = httpx.get(f"{base_url}/metrics", headers=admin_headers)

    assert metrics.status_code == 200
    line = next(l for l in metrics.text.splitlines() if l.startswith("gateway_requests_total") and exchange.client[2] in l)
    assert f'service="{"/".join(exchange.provider)}/records"' in line and 'status="200"' in line


def test_metrics_need_a_monitoring_token(base_url):
    assert httpx.get(f"{base_url}/metrics").status_code == 401


def test_a_client_sees_only_its_own_operational_records(exchange, base_url, admin_headers, logged):
    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    wait_until(lambda: logged(message_id), message="the exchange logged")

    own = httpx.get(f"{base_url}/api/v1/monitoring/operational", headers={"Authorization": f"Bearer {exchange.client_token}"}).json()
    stranger = httpx.get(f"{base_url}/api/v1/monitoring/operational", headers={"Authorization": f"Bearer {exchange.stranger_token}"}).json()
    everyone = httpx.get(f"{base_url}/api/v1/monitoring/operational", params={"limit": 1000}, headers=admin_headers).json()

    assert message_id in [r["messageId"] for r in own["records"]]
    assert {r["client"] for r in own["records"]} == {"/".join(exchange.client)}
    assert message_id not in [r["messageId"] for r in stranger["records"]]
    assert message_id in [r["messageId"] for r in everyone["records"]]
    assert "requestBody" not in own["records"][0] and own["statistics"]["delivered"]["count"] >= 1


def test_operational_records_include_an_exchange_made_just_before_while_the_log_writer_lingers(exchange, base_url, admin_headers, logged):
    seen = []
    for _ in range(3):  # three rounds: one could come just as the writer's wait ends anyway
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": first}))
        wait_until(lambda: logged(first), message="the first exchange logged")  # the writer now waits to gather a batch
        httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": second}))

        records = httpx.get(f"{base_url}/api/v1/monitoring/operational", params={"limit": 1000}, headers=admin_headers).json()["records"]
        seen.append(second in [r["messageId"] for r in records])

    assert seen == [True] * 3  # not left out until MESSAGE_LOG_LINGER_SECONDS has passed


def test_environmental_data_reports_cpu_memory_and_disk(base_url, admin_headers):
    data = httpx.get(f"{base_url}/api/v1/monitoring/environmental", headers=admin_headers).json()

    assert data["memory"]["total"] > 0 and data["disk"]["total"] > 0 and data["cpu"]["count"] >= 1


def test_unproven_names_add_no_metric_series(exchange, base_url, admin_headers):
    """Labels come from the directory and a proven caller, never from a header or path as sent: else anyone could add
    series without end."""
    marker = uuid.uuid4().hex[:12]
    httpx.get(f"{base_url}/r1/X{marker}/Y/Z/W/svc{marker}/a", headers={"X-Road-Client": f"A{marker}/B/C/D"})
    httpx.get(exchange.url("nothing" + marker, "a"), headers=exchange.headers())  # proven caller, unknown service
    httpx.get(exchange.url(path="x"), headers={"X-Road-Client": f"LA/GOV/{marker}/app"})  # known service, no token

    metrics = httpx.get(f"{base_url}/metrics", headers=admin_headers).text

    assert marker not in metrics
    assert 'client="unauthenticated",service="unknown",status="401"' in metrics
    assert f'client="{"/".join(exchange.client)}",service="unknown",status="404"' in metrics
    assert f'client="unauthenticated",service="{"/".join(exchange.provider)}/records",status="401"' in metrics


def test_a_user_signed_in_through_an_application_cannot_read_its_exchange_records(exchange, base_url, oidc_issuer):
    """A citizen's token at the portal carries the portal's client id; the portal's exchange records are not theirs."""
    citizen = oidc_issuer.token(sub=f"citizen-{uuid.uuid4().hex[:6]}", audience="gateway", client_id=exchange.client_id, expires_in=600)

    response = httpx.get(f"{base_url}/api/v1/monitoring/operational", headers={"Authorization": f"Bearer {citizen}"})

    assert response.status_code == 403


def test_an_auditor_reads_every_exchange_record(exchange, base_url, oidc_issuer, logged):
    message_id = str(uuid.uuid4())
    httpx.get(exchange.url(path="x"), headers=exchange.headers(**{"X-Road-Id": message_id}))
    wait_until(lambda: logged(message_id), message="the exchange logged")
    auditor = oidc_issuer.token(sub="auditor-1", audience="gateway", roles=["auditor"], client_id="govstack-portal", expires_in=600)

    records = httpx.get(f"{base_url}/api/v1/monitoring/operational", params={"limit": 1000},
                        headers={"Authorization": f"Bearer {auditor}"}).json()["records"]

    assert message_id in [r["messageId"] for r in records]


def test_the_exchange_metrics_expose_what_prometheus_clients_own_counter_and_histograms_would():
    """The gateway counts in plain lists and builds the families at scrape time (no lock per call); the exposition must
    be the one prometheus_client's Counter and Histogram give for the same observations (their _created lines aside)."""
    import random

    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from gateway.metrics import _SIZES, ExchangeMetrics

    reference = CollectorRegistry()
    labels = ("client", "service", "status")
    expected = (Counter("gateway_requests", "Exchanges through the gateway", labels, registry=reference),
                Histogram("gateway_request_duration_seconds", "Time from request to the end of the response", labels, registry=reference),
                Histogram("gateway_request_size_bytes", "Request body sizes", labels, buckets=_SIZES, registry=reference),
                Histogram("gateway_response_size_bytes", "Response body sizes", labels, buckets=_SIZES, registry=reference))
    metrics = ExchangeMetrics.create()
    pick = random.Random(7).choice
    for _ in range(500):
        client, service, status = pick(["LA/GOV/A/app", "unauthenticated"]), pick(["LA/GOV/B/app/s", "unknown"]), pick([200, 403])
        seconds, request_size, response_size = pick([0.0001, 0.005, 0.3, 1.0, 12.0]), pick([0, 100, 5_000, 20_000_000]), pick([10, 1_000])
        expected[0].labels(client, service, str(status)).inc()
        for histogram, value in zip(expected[1:], (seconds, request_size, response_size)):
            histogram.labels(client, service, str(status)).observe(value)
        metrics.observe(client=client, service=service, status=status, seconds=seconds, request_size=request_size,
                        response_size=response_size)

    def samples(registry) -> list[str]:
        return sorted(line for line in generate_latest(registry).decode().splitlines() if "_created" not in line)

    assert samples(metrics.registry) == samples(reference)
