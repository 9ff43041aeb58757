"""Auditor console over HTTP, against real identity, registration, consent and gateway servers: where an auditor lands,
an application's audit trail, the portal's exchanges in the gateway's message log, the gateway's own audit log, the
Consent BB's data agreements, revision histories, chain checks and consent records, and who may not see them."""
import re
import uuid

import httpx
import pytest

from web.routes.auditor import TEXT
from .helpers import consent_record_ids, enterprise_service_id, new_draft, signed_in_browser
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


def test_an_auditors_navigation_offers_the_audit_console_and_no_tasks(auditor, operator):
    audit = auditor.get("/audit")
    tasks = operator.get("/operator")

    assert f'<a href="/audit" id="nav-audit">{LO["audit"]}</a>' in audit.text and 'id="nav-tasks"' not in audit.text
    assert 'id="nav-tasks"' in tasks.text and 'id="nav-audit"' not in tasks.text


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


NEW_PAGES = ["/audit/gateway", "/audit/consent/agreements", "/audit/consent/agreements/1", "/audit/consent/records",
             "/audit/consent/records/1"]


@pytest.mark.parametrize("path", ["/audit", "/audit/applications/some-file", "/audit/exchanges", *NEW_PAGES])
def test_staff_without_the_auditor_role_may_not_audit(operator, path):
    page = operator.get(path)

    assert page.status_code == 403 and 'id="console-error"' in page.text


@pytest.mark.parametrize("path", ["/audit", "/audit/exchanges", *NEW_PAGES])
def test_a_citizen_or_a_visitor_is_sent_to_sign_in(base_url, path):
    citizen = signed_in_browser(base_url)

    as_citizen = citizen.get(path)
    as_visitor = httpx.get(f"{base_url}{path}")

    assert as_citizen.status_code == 303 and as_visitor.status_code == 303
    assert "<table" not in as_citizen.text + as_visitor.text


def test_a_visitor_of_the_audit_console_is_sent_to_the_staff_sign_in(base_url):
    response = httpx.get(f"{base_url}/audit/applications/some-file")

    assert response.headers["location"] == "/staff/sign-in?next=/audit/applications/some-file"


# --- the gateway's own audit log ------------------------------------------------------------------------------------

def gateway_audit_rows(auditor: httpx.Client) -> dict[str, str]:
    """Every entry of the gateway's audit log by sequence number, following the pages' next links."""
    rows, path = {}, "/audit/gateway"
    for _ in range(50):
        page = auditor.get(path)
        assert page.status_code == 200, page.text
        rows.update(re.findall(r'class="gateway-audit-entry" data-seq="(\d+)"[^>]*>(.*?)</tr>', page.text, re.S))
        following = re.search(r'href="(/audit/gateway\?after=\d+)" id="next-page"', page.text)
        if following is None:
            return rows
        path = following.group(1)
    raise AssertionError("the gateway's audit log did not end within 50 pages")


def test_auditor_sees_an_administrators_refused_action_in_the_gateways_audit_log(auditor, gateway_url, oidc_issuer):
    admin = f"admin-{uuid.uuid4().hex[:8]}"
    member = uuid.uuid4()
    token = oidc_issuer.token(sub=admin, audience="gateway", roles=["admin"], expires_in=600)
    refused = httpx.post(f"{gateway_url}/api/v1/registrations/member/{member}/approve", headers={"Authorization": f"Bearer {token}"})

    entries = [row for row in gateway_audit_rows(auditor).values() if admin in row]

    assert refused.status_code == 404
    assert len(entries) == 1 and f"/api/v1/registrations/member/{member}/approve" in entries[0]
    assert LO["outcome_failure"] in entries[0] and "not_found" in entries[0]  # the outcome, and the reason the gateway gave


def test_the_gateway_audit_log_is_in_english_on_request(auditor):
    english = auditor.get("/audit/gateway", params={"lang": "en"})
    auditor.get("/audit", params={"lang": "lo"})

    assert english.status_code == 200 and f"<h1>{EN['gateway_audit']}</h1>" in english.text
    assert "merge config" in english.text and EN["outcome_success"] in english.text  # the tests' own set-up of the gateway


def test_the_gateway_audit_log_after_its_end_is_empty(auditor):
    page = auditor.get("/audit/gateway", params={"after": str(2**31 - 1)})

    assert page.status_code == 200 and 'class="gateway-audit-entry"' not in page.text and 'id="first-page"' in page.text


@pytest.mark.parametrize("after", ["-1", "x", "1.5", str(2**31), "١", "9" * 5000])
def test_a_bad_gateway_audit_position_is_a_400_page(auditor, after):
    page = auditor.get("/audit/gateway", params={"after": after})

    assert page.status_code == 400 and LO["position_invalid"] in page.text


# --- the Consent BB's audit API -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def given_consent(base_url, identity_url, registration_url) -> str:
    """A new citizen's consent to the enterprise registration's data agreement, given through the portal; its record id."""
    citizen = signed_in_browser(base_url, new_person_at=identity_url)
    new_draft(citizen, enterprise_service_id(registration_url))
    return consent_record_ids(citizen)[0]


@pytest.fixture(scope="module")
def agreement_id(auditor, given_consent) -> str:
    page = auditor.get(f"/audit/consent/records/{given_consent}")
    assert page.status_code == 200, page.text
    return re.search(r'<dd><a href="/audit/consent/agreements/([^"]+)">', page.text).group(1)


def test_auditor_reads_a_consent_record_with_its_history_and_a_chain_check_that_verifies(auditor, given_consent):
    page = auditor.get(f"/audit/consent/records/{given_consent}")

    assert page.status_code == 200
    assert 'id="chain-check" data-valid="true"' in page.text and LO["chain_valid"].format(n=1) in page.text
    assert len(re.findall(r'class="revision" data-revision-id=', page.text)) == 1  # given once, never changed
    assert "signed" in page.text and "Somphone" not in page.text and "ສົມພອນ" not in page.text and "+856" not in page.text


def test_auditor_sees_a_data_agreements_history_and_a_chain_check_that_verifies(auditor, agreement_id):
    listed = auditor.get("/audit/consent/agreements")
    page = auditor.get(f"/audit/consent/agreements/{agreement_id}")

    assert listed.status_code == 200 and f'data-agreement-id="{agreement_id}"' in listed.text
    assert page.status_code == 200 and "ລົງທະບຽນວິສາຫະກິດ" in page.text  # its purpose, in Lao
    assert len(re.findall(r'class="revision" data-revision-id=', page.text)) >= 1
    assert 'id="chain-check" data-valid="true"' in page.text


def test_auditor_sees_the_consent_records_of_a_data_agreement(auditor, given_consent, agreement_id):
    mine = auditor.get("/audit/consent/records", params={"agreement": agreement_id})
    everyone = auditor.get("/audit/consent/records")
    other = auditor.get("/audit/consent/records", params={"agreement": str(uuid.uuid4())})

    row = re.search(rf'data-record-id="{given_consent}" data-state="signed">(.*?)</tr>', mine.text, re.S)
    assert mine.status_code == 200 and row is not None
    assert re.search(r"<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}</time>", row.group(1))  # when it was given
    assert agreement_id in row.group(1) and LO["yes"] in row.group(1)
    assert f'<option value="{agreement_id}" selected>' in mine.text
    assert everyone.status_code == 200 and other.status_code == 200 and given_consent not in other.text
    assert "Somphone" not in mine.text + everyone.text and "LA123456" not in mine.text + everyone.text


def test_consent_records_are_in_english_on_request(auditor, agreement_id):
    english = auditor.get("/audit/consent/records", params={"agreement": agreement_id, "lang": "en"})
    agreement = auditor.get(f"/audit/consent/agreements/{agreement_id}")
    auditor.get("/audit", params={"lang": "lo"})

    assert f"<h1>{EN['consent_records']}</h1>" in english.text and EN["individual_id"] in english.text
    assert EN["chain_check"] in agreement.text and "Register the enterprise" in agreement.text


@pytest.mark.parametrize("path, status, message", [
    ("/audit/consent/agreements/no-such-agreement", 404, "agreement_not_found"),
    (f"/audit/consent/agreements/{uuid.uuid4()}", 404, "agreement_not_found"),
    ("/audit/consent/records/no-such-record", 404, "record_not_found"),
    (f"/audit/consent/records/{uuid.uuid4()}", 404, "record_not_found"),
    ("/audit/consent/records?agreement=..%2Fconfig", 400, "agreement_invalid"),
    ("/audit/consent/records?offset=-5", 400, "position_invalid"),
    ("/audit/consent/agreements?offset=x", 400, "position_invalid"),
])
def test_unknown_or_malformed_consent_ids_are_4xx_pages(auditor, path, status, message):
    page = auditor.get(path)

    assert page.status_code == status and LO[message] in page.text


def test_consent_states_and_agreement_lifecycles_are_in_the_pages_language(auditor, given_consent, agreement_id):
    record = auditor.get(f"/audit/consent/records/{given_consent}")
    records = auditor.get("/audit/consent/records", params={"agreement": agreement_id})
    agreements = auditor.get("/audit/consent/agreements")
    agreement = auditor.get(f"/audit/consent/agreements/{agreement_id}")
    english = auditor.get(f"/audit/consent/records/{given_consent}", params={"lang": "en"})
    auditor.get("/audit", params={"lang": "lo"})

    row = re.search(rf'data-record-id="{given_consent}" data-state="signed">(.*?)</tr>', records.text, re.S).group(1)
    assert f"<dd data-state=\"signed\">{LO['state_signed']}</dd>" in record.text and f"<td>{LO['state_signed']}</td>" in row
    assert f"<td>{LO['lifecycle_Complete']}</td>" in agreements.text and LO["lifecycle_Complete"] in agreement.text
    assert ">Complete<" not in agreements.text + agreement.text and ">signed<" not in record.text + row
    assert f"<dd data-state=\"signed\">{EN['state_signed']}</dd>" in english.text
