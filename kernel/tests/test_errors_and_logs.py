"""Error answers in the service's shape without internals; logs as JSON with trace ids and no personal data."""
import io
import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from pydantic import BaseModel

from kernel.errors import ApiError, install_error_handlers
from kernel.telemetry import JsonFormatter, redact
from kernel.testing import serve


class Person(BaseModel):
    age: int


@pytest.fixture(scope="module")
def url():
    app = FastAPI()

    def shape(status, code, message, details, trace_id):
        return {"error": {"code": code, "message": message, "fields": details, "traceId": trace_id}}

    install_error_handlers(app, shape)

    @app.post("/people")
    def create(person: Person) -> dict:
        return {}

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret connection string postgresql://admin:hunter2@db")

    @app.get("/conflict")
    def conflict() -> dict:
        raise ApiError(409, "duplicate", "Already there.")

    with serve(app) as base:
        yield base


def test_validation_error_is_400_in_service_shape_naming_the_field(url):
    response = httpx.post(f"{url}/people", json={"age": "old"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["fields"][0]["field"] == "age"


def test_malformed_json_is_400_not_500(url):
    response = httpx.post(f"{url}/people", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 400


def test_unexpected_error_is_500_without_internals(url):
    response = httpx.get(f"{url}/boom")

    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert response.json()["error"]["code"] == "internal_error"


def test_api_error_keeps_its_status_and_code(url):
    response = httpx.get(f"{url}/conflict")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "duplicate")


@pytest.mark.parametrize("personal", ["+856 20 5555 1234", "+8562055551234", "020 5555 1234", "02055551234",
                                      "2759183642", "somchai.p@example.la"])
def test_redaction_masks_phone_id_numbers_and_emails(personal):
    assert redact(f"sent to {personal}.") == "sent to [redacted]."


@pytest.mark.parametrize("harmless", ["2026-11-21 06:04:55,376", "5f0c1a2e-4d12-4bd3-9c7e-123456789012", "port 58890",
                                      "HTTP/1.1 200", "retry 3 of 5"])
def test_redaction_leaves_timestamps_uuids_and_small_numbers(harmless):
    assert redact(harmless) == harmless


def test_json_log_has_trace_id_and_no_personal_data():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("kernel.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False

    with trace.get_tracer("test").start_as_current_span("request") as span:
        logger.warning("sending OTP to +856 20 5555 1234 and somchai@example.la",
                       extra={"fields": {"phone_number": "+8562055551234", "application_id": "a-1"}})

    entry = json.loads(stream.getvalue())
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "5555" not in stream.getvalue() and "somchai" not in stream.getvalue()
    assert entry["phone_number"] == "[redacted]"
    assert entry["application_id"] == "a-1"


def test_value_the_database_refuses_is_400_and_not_logged(infrastructure, caplog):
    from sqlmodel import Field, Session, select

    from kernel.db import make_engine
    from kernel.outbox import service_base
    from kernel.settings import ServiceSettings

    Base = service_base()

    class Citizen(Base, table=True):
        name: str = Field(primary_key=True)

    engine = make_engine(ServiceSettings(database_url=infrastructure.new_database("dataerror")))
    Base.metadata.create_all(engine)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/citizens")
    def find(name: str) -> list:
        with Session(engine) as session:
            return [c.name for c in session.exec(select(Citizen).where(Citizen.name == name))]

    with serve(app) as base, caplog.at_level(logging.DEBUG):
        response = httpx.get(f"{base}/citizens", params={"name": "Somchai\x00Phommachanh"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_value"
    service_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's client
    assert service_side
    assert not [r for r in service_side if "Somchai" in r.getMessage() or "Somchai" in str(r.exc_info)]
