"""The GovStack suite's calls, as it makes them (see NOTES.md): keys from the conformance fixtures, its headers and shapes."""
import base64
import copy
import json

import httpx
import pytest
from sqlmodel import func, select

from kernel.app import load_fixtures
from kernel.db import UnitOfWork
from messaging.fixtures import CONFORMANCE_KEYS, FIXTURES
from messaging.models import ApiKey

SWAGGER_BATCH = ("W3sKCSJyZWNpcGllbnRJbmZvIjogewoJCSJlbWFpbCI6ICJjdXN0b21lckBleGFtcGxlLmNvbSIsCgkJImVtYWlsQ0MiOiAiY3VzdG9tZXItY2NA"
                 "ZXhhbXBsZS5jb20iLAoJCSJlbWFpbEJDQyI6ICJjdXN0b21lci1iY2NAZXhhbXBsZS5jb20iLAoJCSJuYW1lIjogIkV4YW1wbGUgQ3VzdG9tZXIiCgl9"
                 "Cn0sIHsKCSJyZWNpcGllbnRJbmZvIjogewoJCSJlbWFpbCI6ICJkZWFyLWN1c3RvbWVyQGV4YW1wbGUuY29tIiwKCQkibmFtZSI6ICJVbmtub3duIEN1c3RvbWVyIgoJfQp9XQ==")
SWAGGER_EMAIL = {
    "callback": {"URI": "https://example.com/callback/emails/requestUid"},
    "senderInfo": {"organisationName": "Example Medical Insitution", "organisationRegNr": "GOV1234567890",
                   "onBehalfOfName": "Example Medical Insitution", "onBehalfOfRegNr": "GOV1234567890",
                   "email": "sender@example.com", "replyTo": "reply-to@example.com", "name": "Example Doctor"},
    "recipientInfo": {"email": "customer@example.com", "emailCC": "customer-cc@example.com",
                      "emailBCC": "customer-bcc@example.com", "name": "Example Customer"},
    "emailContent": {"encoding": "UTF-8", "title": "Example Title Of An Email", "content": "Example Customer"},
}


@pytest.fixture(scope="module")
def conformance(engine, settings):
    load_fixtures(engine, settings.model_copy(update={"fixtures": "conformance"}), FIXTURES)
    load_fixtures(engine, settings.model_copy(update={"fixtures": "conformance"}), FIXTURES)  # a restart loads it again
    return "abcdef12345"


def test_conformance_fixtures_are_idempotent(conformance, engine):
    from messaging import apikeys

    with UnitOfWork(engine, source="test") as uow:
        hashes = [apikeys.hash_key(key) for key in CONFORMANCE_KEYS]
        assert uow.session.exec(select(func.count()).select_from(ApiKey).where(ApiKey.key_hash.in_(hashes))).one() == 3


def test_conformance_fixtures_refuse_production(engine, settings):
    with UnitOfWork(engine, source="test") as uow, pytest.raises(RuntimeError):
        FIXTURES["conformance"](uow, settings.model_copy(update={"environment": "production"}))


def test_suite_single_send_status_and_callback_flow(base_url, conformance):
    body = copy.deepcopy(SWAGGER_EMAIL)
    headers = {"api_key": conformance, "Accept": "application/json"}

    sends = [httpx.post(f"{base_url}/send/email/single", json=body, headers=headers) for _ in range(2)]  # the suite sends twice
    uid = sends[0].json()["requestUID"]
    statuses = httpx.get(f"{base_url}/status/email", headers={**headers, "requestUID": uid},
                         params=[("status[]", name) for name in ("scheduled", "processing", "deferred", "bounced", "not sent", "delivered")])
    content = base64.b64encode(json.dumps({"answer": "yes"}).encode()).decode()
    replies = [httpx.post(f"{base_url}/callback/email", json={"meta": "Meta-info", "content": content},
                          headers={**headers, "requestUID": uid}) for _ in range(3)]

    assert [send.status_code for send in sends] == [200, 200] and sends[1].json()["requestUID"] == uid
    assert statuses.status_code == 200
    assert sorted(statuses.json()) == sorted(["scheduled", "processing", "deferred", "bounced", "not sent", "delivered"])
    assert all(isinstance(value, int) for value in statuses.json().values())
    assert [reply.status_code for reply in replies] == [200] * 3
    assert all(reply.headers["content-type"].startswith("application/json") for reply in replies)


def test_suite_batch_send_with_its_mutated_shared_body(base_url, conformance):
    body = copy.deepcopy(SWAGGER_EMAIL)
    body["recipientInfo"] = {"batchEmailAsBase64": SWAGGER_BATCH}  # what the batch When step does to the shared object

    batch = httpx.post(f"{base_url}/send/email/batch", json=body, headers={"api_key": "xyz0987"})
    single = httpx.post(f"{base_url}/send/email/single", json=body, headers={"api_key": conformance})

    assert (batch.status_code, single.status_code) == (200, 200)
    assert isinstance(batch.json()["requestUID"], str) and batch.json()["requestUID"]


@pytest.mark.parametrize("case", ["no key", "no body", "neither"])
def test_suite_missing_inputs_get_405(base_url, conformance, case):
    headers = {} if case in ("no key", "neither") else {"api_key": conformance}
    body = None if case in ("no body", "neither") else SWAGGER_EMAIL

    response = httpx.post(f"{base_url}/send/email/single", json=body, headers=headers)

    assert response.status_code == 405


def test_suite_status_without_status_parameters_gets_405_and_no_5xx(base_url, conformance):
    uid = httpx.post(f"{base_url}/send/email/single", json=SWAGGER_EMAIL, headers={"api_key": conformance}).json()["requestUID"]

    response = httpx.get(f"{base_url}/status/email", headers={"api_key": conformance, "requestUID": uid})

    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
