"""GET /enrollment: staff search of uncommitted enrolments (spec 6.2), each test isolated by its own unique source."""
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from .helpers import request_time, unique

PERSONAL_VALUES = ("Search Person", "+856205550000", "search.person@example.la")


@pytest.fixture(scope="module")
def headers(admin_token):
    return {"Authorization": f"Bearer {admin_token}"}


def _put(base_url, headers, **request) -> str:
    fields = {"fullName": PERSONAL_VALUES[0], "phone": PERSONAL_VALUES[1], "email": PERSONAL_VALUES[2]}
    request = {"id": unique("enr"), "process": "NEW", "fields": fields, **request}
    response = httpx.put(f"{base_url}/enrollment", headers=headers, json={"id": "govstack.enrollment", "version": "v1",
                                                                          "requesttime": request_time(), "request": request})
    assert response.status_code in (200, 201), response.text
    return request["id"]


def _search(base_url, headers, **params) -> httpx.Response:
    return httpx.get(f"{base_url}/enrollment", headers=headers, params=params)


def test_lists_uncommitted_enrolments_with_ids_and_times_but_no_personal_values(base_url, headers):
    source = unique("src")
    first = _put(base_url, headers, source=source, refId="10001_10002")
    second = _put(base_url, headers, source=source, process="UPDATE")

    response = _search(base_url, headers, status="uncommitted", source=source)

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [] and body["metaData"] == {"offset": 0, "limit": 20, "total": 2}
    assert [item["id"] for item in body["response"]] == [first, second]
    item = body["response"][0]
    assert item.keys() == {"id", "status", "process", "source", "refId", "creationDate", "updatedDate"}
    assert (item["status"], item["process"], item["source"], item["refId"]) == ("pending", "NEW", source, "10001_10002")
    assert datetime.fromisoformat(item["creationDate"]) <= datetime.fromisoformat(item["updatedDate"])
    assert not any(value in response.text for value in PERSONAL_VALUES)


def test_finalized_enrolments_are_not_listed(base_url, headers):
    source = unique("src")
    pending = _put(base_url, headers, source=source)
    _put(base_url, headers, source=source, finalize=True)
    later_finalized = _put(base_url, headers, source=source)
    _put(base_url, headers, id=later_finalized, finalize=True)

    response = _search(base_url, headers, source=source)

    assert [item["id"] for item in response.json()["response"]] == [pending]
    assert response.json()["metaData"]["total"] == 1


def test_filters_by_process_and_creation_time(base_url, headers):
    source = unique("src")
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    new = _put(base_url, headers, source=source)
    update = _put(base_url, headers, source=source, process="UPDATE")
    after = datetime.now(timezone.utc) + timedelta(seconds=1)

    def ids(**params):
        response = _search(base_url, headers, source=source, **params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["response"]]

    assert ids(process="NEW") == [new]
    assert ids(process="UPDATE") == [update]
    assert ids(createdFrom=before.isoformat(), createdTo=after.isoformat()) == [new, update]
    assert ids(createdFrom=after.strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    assert ids(createdTo=before.isoformat()) == []


def test_pages_with_offset_and_limit_in_creation_order(base_url, headers):
    source = unique("src")
    created = [_put(base_url, headers, source=source) for _ in range(5)]

    pages = [_search(base_url, headers, source=source, offset=offset, limit=2).json() for offset in (0, 2, 4, 6)]

    assert [[item["id"] for item in page["response"]] for page in pages] == [created[0:2], created[2:4], created[4:5], []]
    assert [page["metaData"] for page in pages] == [{"offset": o, "limit": 2, "total": 5} for o in (0, 2, 4, 6)]


def test_search_needs_a_token(base_url):
    response = httpx.get(f"{base_url}/enrollment")

    assert response.status_code == 401


def test_search_needs_an_enrolment_role_or_scope(base_url, oidc_issuer):
    token = oidc_issuer.token(audience="identity", roles=["auditor"])

    response = httpx.get(f"{base_url}/enrollment", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403


def test_search_accepts_the_enrollment_scope(base_url, oidc_issuer):
    token = oidc_issuer.token(audience="identity", scopes=["enrollment"])

    response = httpx.get(f"{base_url}/enrollment", headers={"Authorization": f"Bearer {token}"}, params={"source": unique("src")})

    assert response.status_code == 200
    assert response.json()["response"] == []


@pytest.mark.parametrize("params", [
    {"status": "committed"}, {"status": "completed"}, {"process": "MERGE"}, {"source": "x" * 101}, {"source": ""},
    {"offset": "-1"}, {"offset": "one"}, {"offset": "1.5"}, {"offset": "9" * 30}, {"limit": "0"}, {"limit": "101"},
    {"limit": "ten"}, {"createdFrom": "yesterday"}, {"createdTo": "2026-13-01"},
    {"createdFrom": "2026-02-01T00:00:00Z", "createdTo": "2026-01-01T00:00:00Z"},
    {"createdFrom": "0001-01-01T00:00:00+01:00"}, {"createdTo": "9999-12-31T23:30:00-01:00"},  # beyond year 1..9999 in UTC
])
def test_bad_parameters_are_a_400_in_the_enrollment_error_shape(base_url, headers, params):
    response = _search(base_url, headers, **params)

    assert response.status_code == 400
    body = response.json()
    assert body.keys() == {"id", "version", "responsetime", "response", "errors"}
    assert [error["errorCode"] for error in body["errors"]] == ["invalid_request"]
    assert body["errors"][0]["message"]
