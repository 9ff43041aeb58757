"""Operator console over HTTP, against real identity, registration and gateway servers: staff sign-in, tasks per role,
the file as the task's role sees it, documents, claim and decisions with a reason."""
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from identity.fixtures import DEMO_CITIZEN_UIN, DEMO_STAFF
from web import oidc
from .helpers import DEMO_PIN, PNG, field, signed_in_browser
from .staff_helpers import operator_test_service, signed_in_staff, staff_login, submitted


@pytest.fixture(scope="module")
def operator(base_url) -> httpx.Client:
    return signed_in_staff(base_url, "operator")


@pytest.fixture(scope="module")
def citizen(base_url) -> httpx.Client:
    return signed_in_browser(base_url)


@pytest.fixture(scope="module")
def service_id(registration_api) -> str:
    return operator_test_service(registration_api)


@pytest.fixture
def application(citizen, service_id) -> str:
    return submitted(citizen, service_id)


def open_task_of(operator: httpx.Client, file_id: str, *, role: str = "") -> str:
    page = operator.get("/operator", params={"role": role} if role else {})
    assert page.status_code == 200, page.text
    match = re.search(rf'href="/operator/tasks/([^"]+)" data-file="{file_id}"', page.text)
    assert match, f"no open task for {file_id}"
    return match.group(1)


def decide(operator: httpx.Client, task_id: str, decision: str, reason: str, **extra) -> httpx.Response:
    return operator.post(f"/operator/tasks/{task_id}/decide", data={"decision": decision, "reason": reason, **extra})


def test_staff_sign_in_opens_the_console_with_the_staff_members_roles(operator):
    page = operator.get("/operator")

    assert page.status_code == 200
    assert 'id="staff-name">operator<' in page.text and "enterprise_reviewer" in page.text
    assert 'href="/designer"' not in page.text  # the operator is no designer


def test_portal_pages_link_to_staff_sign_in(base_url):
    page = httpx.get(f"{base_url}/")

    assert 'href="/staff/sign-in"' in page.text


def test_console_pages_send_a_signed_out_visitor_to_staff_sign_in(base_url):
    response = httpx.get(f"{base_url}/operator/tasks/some-task")

    assert response.status_code == 303 and response.headers["location"] == "/staff/sign-in?next=/operator/tasks/some-task"


def test_a_citizen_session_does_not_open_the_console(citizen):
    response = citizen.get("/operator")

    assert response.status_code == 303 and response.headers["location"].startswith("/staff/sign-in")


def _staff_login_page(browser: httpx.Client) -> tuple[str, str]:
    """Identity's address and the transaction id of the login page /staff/sign-in leads to."""
    to_identity = browser.get("/staff/sign-in")
    page = browser.get(to_identity.headers["location"])
    return to_identity.headers["location"].split("/authorize")[0], field(page.text, "transaction_id")


def test_a_citizen_pin_on_the_staff_sign_in_gets_no_code(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        identity, transaction_id = _staff_login_page(browser)
        logged_in = browser.post(f"{identity}/authorize/login", data={"transaction_id": transaction_id, "individual_id": DEMO_CITIZEN_UIN,
                                                                    "pin": DEMO_PIN})
        console = browser.get("/operator")

    assert "location" not in logged_in.headers and "code=" not in logged_in.text  # identity's error page
    assert console.status_code == 303  # no session was opened


def test_wrong_staff_password_opens_no_session(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        identity, transaction_id = _staff_login_page(browser)
        refused = browser.post(f"{identity}/authorize/staff-login", data={"transaction_id": transaction_id, "username": "auditor",
                                                                         "password": "not-the-password"})
        console = browser.get("/operator")

    assert refused.status_code == 401 and "location" not in refused.headers
    assert console.status_code == 303


def test_staff_token_of_the_portal_client_is_accepted_by_the_gateway(base_url, settings, identity_url, gateway_url):
    verifier, nonce = oidc.new_pkce_verifier(), "nonce-gateway"
    with httpx.Client(timeout=30) as browser:
        provider = oidc.staff_provider(browser, settings)
        page = browser.get(oidc.authorize_url(settings, state="state-gateway", nonce=nonce, verifier=verifier, lang="en", provider=provider))
        login = browser.post(f"{identity_url[0]}/authorize/staff-login", data={
            "transaction_id": field(page.text, "transaction_id"), "username": "operator", "password": DEMO_STAFF["operator"][0]})
        code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
        tokens = oidc.exchange_code(browser, settings, code=code, verifier=verifier, nonce=nonce, provider=provider)
    staff_token = httpx.post(f"{identity_url[0]}/staff/token", json={"username": "auditor", "password": DEMO_STAFF["auditor"][0],
                                                                     "audience": "gateway"}).json()["access_token"]
    tasks_url = f"{gateway_url}/r1/{settings.im_provider}/registration-bb/registration/tasks"

    accepted = httpx.get(tasks_url, headers={"Information-Mediator-Client": settings.im_client, "Authorization": f"Bearer {tokens['access_token']}"})
    refused = httpx.get(tasks_url, headers={"Information-Mediator-Client": settings.im_client, "Authorization": f"Bearer {staff_token}"})

    assert accepted.status_code == 200, accepted.text
    assert "enterprise_reviewer" in tokens["id_claims"]["roles"]
    assert refused.status_code in (401, 403)  # /staff/token's client (identity-staff) is not the portal application


def test_submitted_application_is_in_the_reviewer_tasks(operator, application):
    page = operator.get("/operator", params={"role": "reviewer"})

    assert page.status_code == 200
    assert f'data-file="{application}"' in page.text and 'data-role="reviewer"' in page.text
    assert 'data-role="registrar"' not in page.text


def test_task_page_shows_only_what_the_reviewer_role_sees(operator, application):
    task_id = open_task_of(operator, application)

    page = operator.get(f"/operator/tasks/{task_id}")

    assert page.status_code == 200
    assert 'data-field="full_name">Somphone Citizen<' in page.text
    assert "id_number" not in page.text and "LA123456" not in page.text  # sensitive_personal: the registrar's, not the reviewer's
    assert 'id="decision-send_back"' in page.text and 'id="fix-full_name"' in page.text


def test_operator_downloads_the_applicants_document(operator, application):
    page = operator.get(f"/operator/tasks/{open_task_of(operator, application)}")
    document_path = re.search(r'href="(/operator/documents/[^"]+)"', page.text).group(1)

    download = operator.get(document_path)

    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"].startswith("attachment")


def test_claim_marks_the_task_as_the_operators(operator, application):
    task_id = open_task_of(operator, application)

    claimed = operator.post(f"/operator/tasks/{task_id}/claim")
    page = operator.get(claimed.headers["location"])

    assert claimed.status_code == 303
    assert 'id="claim"' not in page.text and 'id="record-decision"' in page.text


def test_decision_without_a_reason_is_refused_and_the_task_stays_open(operator, application):
    task_id = open_task_of(operator, application)

    refused = decide(operator, task_id, "approve", "   ")

    assert refused.status_code == 400 and 'id="decision-error"' in refused.text
    assert open_task_of(operator, application) == task_id


def test_decision_the_role_does_not_have_is_refused(operator, application):
    task_id = open_task_of(operator, application)

    refused = decide(operator, task_id, "archive", "not a decision of this role")

    assert refused.status_code == 400
    assert open_task_of(operator, application) == task_id


def test_send_back_with_reason_and_marked_field_reaches_the_citizen(operator, citizen, application):
    task_id = open_task_of(operator, application)

    sent_back = decide(operator, task_id, "send_back", "The English name must match the lease", fields_to_fix="full_name")
    status = citizen.get(f"/applications/{application}")

    assert sent_back.status_code == 303 and sent_back.headers["location"] == "/operator?decided=1"
    assert status.status_code == 200 and "The English name must match the lease" in status.text
    assert 'id="resubmit"' in status.text  # the citizen may now correct it


def test_send_back_marks_the_fields_in_the_file(operator, application, registration_api):
    decide(operator, open_task_of(operator, application), "send_back", "Check the name", fields_to_fix="full_name")

    file = registration_api("GET", f"applications/{application}", roles=["enterprise_reviewer"]).json()

    assert file["status"]["code"] == "SENDBACK"
    assert file["fieldsToFix"] == [{"field": "full_name", "reason": ""}]


def test_reviewer_then_registrar_approve_and_the_registry_number_is_issued(operator, citizen, application):
    assert decide(operator, open_task_of(operator, application, role="reviewer"), "approve", "Documents complete").status_code == 303

    registrar_task = open_task_of(operator, application, role="registrar")
    registrar_page = operator.get(f"/operator/tasks/{registrar_task}")
    approved = decide(operator, registrar_task, "approve", "Registered")
    status = citizen.get(f"/applications/{application}")

    assert 'data-field="id_number">LA123456<' in registrar_page.text  # the registrar's role sees the ID number
    assert approved.status_code == 303
    assert 'id="registration-number">OPS' in status.text


def test_unknown_task_and_document_are_not_found(operator):
    assert operator.get("/operator/tasks/no-such-task").status_code == 404
    assert operator.get("/operator/documents/no-such-document").status_code == 404


def test_console_is_in_lao_by_default_and_english_on_request(operator):
    lao = operator.get("/operator")
    english = operator.get("/operator", params={"lang": "en"})
    operator.get("/operator", params={"lang": "lo"})  # the choice sticks in a cookie: back to Lao for the other tests

    assert "ວຽກທີ່ຍັງຄ້າງ" in lao.text
    assert "Open tasks" in english.text


def test_staff_sign_in_returns_to_the_page_asked_for(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        back = staff_login(browser, "designer", next_path="/designer")

    assert back.status_code == 303 and back.headers["location"] == "/designer"


def test_task_list_names_each_role_in_the_consoles_language(operator, application):
    english = operator.get("/operator", params={"lang": "en"})
    lao = operator.get("/operator", params={"lang": "lo"})  # last, so the module's console stays in Lao

    assert "Operator test licence: Reviewer" in english.text
    assert "ໃບອະນຸຍາດທົດສອບ: ຜູ້ກວດກາ" in lao.text and "Operator test licence: Reviewer" not in lao.text
