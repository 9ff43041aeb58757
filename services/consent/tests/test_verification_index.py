"""The verification fast path's in-process index: answers from memory, kept coherent across API processes."""
import time
import urllib.error
import urllib.request

import httpx
import pytest
from sqlalchemy import text

from consent.app import create_app
from consent.routes.verification import VerifiedTokens
from consent.verification_index import ALL, APPLICATION_NAME, CHANNEL, VerificationIndex
from kernel.auth import Caller
from kernel.testing import serve, wait_until

from .api import create_agreement, create_policy, give_signed_consent, has_consent, ok
from .conftest import Citizen


@pytest.fixture(scope="module")
def other_app(settings, base_url):
    """A second API process on the same database, as with API_WORKERS=2 (in-process here, with its own index)."""
    app = create_app(settings)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.client = http
        yield app


@pytest.fixture
def other_worker(other_app):
    return other_app.state.client


@pytest.fixture
def agreement(client, admin):
    return create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]


def _withdraw(client, citizen, record_id):
    ok(client.put(f"/service/individual/record/consent-record/{record_id}/", headers=citizen.headers,
                  json={"consentRecord": {"optIn": False}}))


def test_a_withdrawal_in_one_process_reaches_the_index_of_another(client, other_worker, verifier, agreement, new_citizen):
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    assert has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is True  # now in its index

    _withdraw(client, citizen, record_id)

    wait_until(lambda: has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is False, timeout=5,
               message="the other process to see the withdrawal")


def test_a_withdrawal_is_seen_at_once_by_the_process_that_stored_it(client, verifier, agreement, new_citizen):
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True

    _withdraw(client, citizen, record_id)

    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False


def test_a_new_agreement_revision_invalidates_every_answer_for_it(client, other_worker, admin, verifier, agreement, new_citizen):
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])
    assert has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is True

    revised = {k: agreement[k] for k in ("purpose", "lawfulBasis", "dpia", "controller", "policy", "dataUse", "active", "forgettable",
                                         "dataAttributes")}
    ok(client.put(f"/config/data-agreement/{agreement['id']}/", headers=admin, json={"dataAgreement": {**revised, "version": "2.0"}}))

    # The record was given at the old revision: no consent at the current one.
    wait_until(lambda: has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is False, timeout=5,
               message="the other process to see the new revision")


def test_a_hit_is_answered_from_memory_until_a_change_is_notified(client, other_app, engine, verifier, agreement, new_citizen,
                                                                  monkeypatch):
    index = other_app.state.verification_index
    notified = []
    changed = index.changed
    monkeypatch.setattr(index, "changed", lambda *key: (notified.append(key), changed(*key)))
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])
    # Once the notification of the consent just given has arrived (a late one would drop the answer read below)...
    wait_until(lambda: (citizen.individual_id, agreement["id"]) in notified, timeout=5, message="the notification")
    client = other_app.state.client
    # ...the answer read through the other process stays in its index.
    wait_until(lambda: has_consent(client, verifier, citizen.individual_id, agreement["id"])
               and index.get(citizen.individual_id, agreement["id"]) is not None, timeout=5, message="the answer in the index")

    # Changed behind the service's back (no notification): the index still answers from memory, proving it is read...
    with engine.begin() as connection:
        connection.execute(text("UPDATE consent_record SET opt_in = false WHERE individual_id = :i"), {"i": citizen.individual_id})
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True
    # ...and a notification, as every committed change through the service sends, drops the answer.
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": f"{citizen.individual_id} {agreement['id']}"})
    wait_until(lambda: has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False, timeout=5,
               message="the notification to reach the index")


def test_the_index_is_off_while_its_listener_is_cut_off_and_on_again_once_it_reconnects(client, other_app, other_worker, engine,
                                                                                      verifier, agreement, new_citizen):
    index = other_app.state.verification_index
    generation = index.generation
    with engine.connect() as connection:
        cut = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND application_name = :name"),
                                 {"name": APPLICATION_NAME}).scalar_one()
    assert cut >= 1

    # set_enabled moves the generation on both ways: off when the connection is lost, on again after LISTEN.
    wait_until(lambda: index.enabled and index.generation >= generation + 2, timeout=10, message="the listener to reconnect")
    citizen = new_citizen()
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]
    assert has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is True
    _withdraw(client, citizen, record_id)
    wait_until(lambda: has_consent(other_worker, verifier, citizen.individual_id, agreement["id"]) is False, timeout=5,
               message="the reconnected listener to pass the withdrawal on")


def test_an_unknown_agreement_is_refused_and_not_remembered(client, verifier, new_citizen):
    citizen = new_citizen()

    response = client.get("/service/verification/consent-record/", headers=verifier,
                          params={"individualId": citizen.individual_id, "dataAgreementId": "424242424242"})

    assert response.status_code == 400 and response.json()["error"] == "not_found"


def test_an_answer_read_before_a_change_arrived_is_not_stored():
    index = VerificationIndex(ttl_seconds=60)
    index.set_enabled(True)
    generation = index.generation  # a lookup starts reading the database...

    index.changed("individual-1", "agreement-1")  # ...a change is notified while it reads...
    index.put("individual-1", "agreement-1", b"old answer", generation=generation)

    assert index.get("individual-1", "agreement-1") is None  # ...so its (possibly old) answer is dropped


def test_an_agreement_change_drops_every_answer_and_expired_answers_are_not_served():
    index = VerificationIndex(ttl_seconds=60)
    index.set_enabled(True)
    index.put("individual-1", "agreement-1", b"a", generation=index.generation)
    index.put("individual-2", "agreement-1", b"b", generation=index.generation)
    short = VerificationIndex(ttl_seconds=0.01)
    short.set_enabled(True)
    short.put("individual-1", "agreement-1", b"a", generation=short.generation)

    index.changed(ALL, "agreement-1")
    time.sleep(0.02)

    assert index.get("individual-1", "agreement-1") is None and index.get("individual-2", "agreement-1") is None
    assert short.get("individual-1", "agreement-1") is None


def test_nothing_is_stored_while_the_listener_is_not_connected():
    index = VerificationIndex(ttl_seconds=60)  # disabled until its listener connects

    index.put("individual-1", "agreement-1", b"a", generation=index.generation)

    assert index.get("individual-1", "agreement-1") is None


def test_a_verified_token_is_not_reused_after_it_expires():
    tokens = VerifiedTokens(seconds=300)
    caller = Caller(subject="gateway", issuer="https://issuer", client_id="gateway", claims={"exp": time.time() - 1})

    tokens.put("expired-token", caller)

    assert tokens.get("expired-token") is None


@pytest.fixture(scope="module")
def traced_client(settings, base_url):
    """An API process with a trace exporter configured: the verification call goes through the middleware stack. The
    session's `client` is one without: its verification calls are served ahead of the stack (kernel.app.serve_ahead)."""
    traced = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:9"})  # the tracer is set up already
    with serve(create_app(traced)) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


def test_the_fast_path_answers_in_front_of_the_middleware_stack(client, traced_client, spans, verifier, agreement, new_citizen):
    citizen = new_citizen()
    give_signed_consent(client, citizen, agreement["id"])

    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("GET /service/verification")]  # no tracing middleware
    assert has_consent(traced_client, verifier, citizen.individual_id, agreement["id"]) is True
    assert [s for s in spans.get_finished_spans() if s.name.startswith("GET /service/verification")]


@pytest.mark.parametrize("path_taken", ["client", "traced_client"])
def test_the_fast_path_refuses_in_the_consent_error_shape(path_taken, request, tokens, agreement):
    http = request.getfixturevalue(path_taken)  # ahead of the middleware stack, or through it
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "Accept-Language": "lo"}

    # urllib, not the (instrumented) httpx, which would send a traceparent of its own.
    unauthenticated = urllib.request.Request(f"{str(http.base_url).rstrip('/')}/service/verification/consent-record/?dataAgreementId={agreement['id']}",
                                     headers=traced)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unauthenticated)
    anonymous = httpx.Response(refused.value.code, content=refused.value.read())
    citizen = http.get("/service/verification/consent-record/", headers={**traced, **tokens("citizen")})
    invalid = http.get("/service/verification/consent-record/", headers={**traced, **tokens("verifier")}, params={"individualId": "x"})

    assert (anonymous.status_code, anonymous.json()["traceId"], anonymous.json()["localizedMessage"]) == (401, trace_id, "ຕ້ອງມີໂທເຄັນ (bearer token).")
    assert (citizen.status_code, citizen.json()["error"]) == (403, "forbidden")
    assert invalid.status_code == 400 and {d["field"] for d in invalid.json()["details"]} == {"individualId", "dataAgreementId"}


@pytest.fixture(scope="module")
def sqlite_app(settings, tmp_path_factory):
    """The API on SQLite, as `make run` starts it: one API process, no NOTIFY."""
    sqlite = settings.model_copy(update={"database_url": "", "data_dir": tmp_path_factory.mktemp("consent-sqlite")})
    assert not sqlite.is_postgres
    app = create_app(sqlite)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        app.state.client = http
        yield app


def test_on_sqlite_the_index_answers_from_memory_and_a_commit_drops_what_it_changed(sqlite_app, admin, verifier, tokens, oidc_issuer):
    client, index = sqlite_app.state.client, sqlite_app.state.verification_index
    agreement = create_agreement(client, admin, policy_id=create_policy(client, admin)["policy"]["id"])["dataAgreement"]
    citizen = Citizen(client, tokens, oidc_issuer)
    record_id = give_signed_consent(client, citizen, agreement["id"])["consentRecord"]["id"]

    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is True
    assert index.enabled and index.get(citizen.individual_id, agreement["id"]) is not None  # served from memory from now on
    _withdraw(client, citizen, record_id)

    assert index.get(citizen.individual_id, agreement["id"]) is None
    assert has_consent(client, verifier, citizen.individual_id, agreement["id"]) is False  # at once, not after the TTL


def test_on_sqlite_with_several_api_workers_the_index_stays_off(settings, tmp_path_factory):
    several = settings.model_copy(update={"database_url": "", "data_dir": tmp_path_factory.mktemp("consent-sqlite-2"), "api_workers": 2})
    app = create_app(several)

    with serve(app):
        assert app.state.verification_index.enabled is False
