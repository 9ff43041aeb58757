"""Auditor console over HTTP, against real identity, registration, consent and gateway servers: where an auditor lands,
an application's audit trail, the portal's exchanges in the gateway's message log, and who may not see them."""
import re

import httpx
import pytest

from web.routes.auditor import TEXT
from .helpers import signed_in_browser
from .staff_helpers import operator_test_service, signed_in_staff, staff_login, submitted

LO, EN = TEXT["lo"], TEXT["en"]


@pytest.fixture(scope="module")
def auditor(base_url) -> httpx.Client:
    return signed_in_staff(base_url, "auditor")


@pytest.fixture(scope="module")
def operator(base_url) -> httpx.Client:
    return signed_in_staff(base_url, "operator")


@pytest.fixture(scope="module")
def decided_application(base_url, registration_api, operator) -> str:
    """An application the reviewer claimed and sent back with a reason."""
    file_id = submitted(signed_in_browser(base_url), operator_test_service(registration_api))
    task_id = re.search(rf'href="/operator/tasks/([^"]+)" data-file="{file_id}"', operator.get("/operator").text).group(1)
    assert operator.post(f"/operator/tasks/{task_id}/claim").status_code == 303
    assert operator.post(f"/operator/tasks/{task_id}/decide", data={"decision": "send_back", "reason": "Name differs from the ID card"}
                         ).status_code == 303
    return file_id


def test_an_auditor_signing_in_lands_on_the_audit_console(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        back = staff_login(browser, "auditor")
        landing = browser.get(back.headers["location"])
        console = browser.get(landing.headers["location"])

    assert back.headers["location"] == "/operator" and landing.status_code == 303 and landing.headers["location"] == "/audit"
    assert console.status_code == 200 and 'id="find-application"' in console.text and 'id="no-tasks"' not in console.text


def test_an_operator_still_lands_on_the_tasks(operator):
    assert operator.get("/operator").status_code == 200


def test_auditor_finds_an_application_and_reads_its_audit_trail(auditor, decided_application):
    found = auditor.get("/audit/applications", params={"file_id": f"  {decided_application} "})
    trail = auditor.get(found.headers["location"])

    assert found.status_code == 303 and found.headers["location"] == f"/audit/applications/{decided_application}"
    rows = dict(re.findall(r'class="audit-entry" data-action="([^"]+)">(.*?)</tr>', trail.text, re.S))
    assert trail.status_code == 200
    assert list(rows)[-3:] == ["submitted", "claimed", "send_back"]
    assert "Name differs from the ID card" in rows["send_back"] and ">reviewer<" in rows["send_back"]
    assert f"({LO['the_applicant']})" in rows["submitted"] and LO["the_applicant"] not in rows["claimed"]
    assert "LA123456" not in trail.text and "Somphone Citizen" not in trail.text  # a trail of actions, not the file's data


def test_the_audit_trail_is_in_lao_by_default_and_english_on_request(auditor, decided_application):
    lao = auditor.get(f"/audit/applications/{decided_application}")
    english = auditor.get(f"/audit/applications/{decided_application}", params={"lang": "en"})
    auditor.get("/audit", params={"lang": "lo"})  # back to Lao for the other tests

    assert LO["trail"] in lao.text and "ສົ່ງກັບຄືນໃຫ້ແກ້ໄຂ" in lao.text  # the send-back, as the citizen portal names it
    assert EN["trail"] in english.text and "Sent back for correction" in english.text


def test_an_unknown_application_number_is_a_404_page(auditor):
    page = auditor.get("/audit/applications/no-such-file")

    assert page.status_code == 404 and LO["not_found"] in page.text
    assert 'value="no-such-file"' in page.text  # the number stays in the search box, to correct it


@pytest.mark.parametrize("file_id, message", [("   ", "id_required"), ("x" * 101, "id_invalid"), ("a\x00b", "id_invalid")])
def test_a_missing_or_malformed_application_number_is_a_400_page(auditor, file_id, message):
    page = auditor.get("/audit/applications", params={"file_id": file_id})

    assert page.status_code == 400 and LO[message] in page.text


def test_auditor_sees_the_portals_exchanges_in_the_gateways_message_log(auditor, decided_application):
    auditor.get(f"/audit/applications/{decided_application}")

    page = auditor.get("/audit/exchanges", params={"bb_name": "registration"})
    consent_only = auditor.get("/audit/exchanges", params={"bb_name": "consent"})

    assert page.status_code == 200
    assert f"<code>/applications/{decided_application}/audit</code>" in page.text  # the auditor's own read, logged by the gateway
    assert 'data-outcome="delivered"' in page.text and LO["outcome_delivered"] in page.text
    assert f"/applications/{decided_application}/audit" not in consent_only.text


def test_exchanges_since_tomorrow_are_none(auditor):
    page = auditor.get("/audit/exchanges", params={"since": "2999-01-01"})

    assert page.status_code == 200 and 'class="exchange"' not in page.text and LO["no_exchanges"] in page.text


@pytest.mark.parametrize("params, message", [({"since": "yesterday"}, "date_invalid"), ({"bb_name": "identity"}, "unknown_building_block")])
def test_a_bad_exchange_filter_is_a_400_page(auditor, params, message):
    page = auditor.get("/audit/exchanges", params=params)

    assert page.status_code == 400 and LO[message] in page.text


@pytest.mark.parametrize("path", ["/audit", "/audit/applications/some-file", "/audit/exchanges"])
def test_staff_without_the_auditor_role_may_not_audit(operator, path):
    page = operator.get(path)

    assert page.status_code == 403 and 'id="console-error"' in page.text


@pytest.mark.parametrize("path", ["/audit", "/audit/exchanges"])
def test_a_citizen_or_a_visitor_is_sent_to_sign_in(base_url, path):
    citizen = signed_in_browser(base_url)

    as_citizen = citizen.get(path)
    as_visitor = httpx.get(f"{base_url}{path}")

    assert as_citizen.status_code == 303 and as_visitor.status_code == 303
    assert "<table" not in as_citizen.text + as_visitor.text


def test_a_visitor_of_the_audit_console_is_sent_to_the_staff_sign_in(base_url):
    response = httpx.get(f"{base_url}/audit/applications/some-file")

    assert response.headers["location"] == "/staff/sign-in?next=/audit/applications/some-file"
