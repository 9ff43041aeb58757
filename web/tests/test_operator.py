"""Operator console over HTTP, against real identity, registration and gateway servers: staff sign-in, tasks per role,
the file as the task's role sees it, documents, claim and decisions with a reason."""
import re
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from sqlmodel import Session

from identity import staff
from identity.fixtures import DEMO_CITIZEN_UIN, DEMO_STAFF
from kernel.db import make_engine
from web import i18n, oidc
from web.console import CATALOGS as CONSOLE
from web.routes.operator import download_name
from .helpers import DEMO_PIN, PNG, field, new_draft, signed_in_browser
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


@pytest.fixture(scope="module")
def other_reviewer(base_url, identity_url) -> httpx.Client:
    """A second officer in the reviewer's role, signed in."""
    username, password = f"reviewer-{uuid.uuid4().hex[:8]}", "another-long-password"
    engine = make_engine(identity_url[1])
    with Session(engine) as session:
        staff.create_local(session, username=username, password=password, roles=["enterprise_reviewer"])
        session.commit()
    engine.dispose()
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    assert staff_login(browser, username, password=password).status_code == 303
    return browser


LO, CONSOLE_LO = i18n.CATALOGS["lo"], CONSOLE["lo"]


def open_task_of(operator: httpx.Client, file_id: str, *, role: str = "") -> str:
    page = operator.get("/operator", params={"role": role} if role else {})
    assert page.status_code == 200, page.text
    match = re.search(rf'href="/operator/tasks/([^"]+)" data-file="{file_id}"', page.text)
    assert match, f"no open task for {file_id}"
    return match.group(1)


def submitted_with_evidence(citizen: httpx.Client, service_id: str, *, file_name: str) -> str:
    """An application to the module's service whose evidence upload has the given file name; returns its file id."""
    draft_id = new_draft(citizen, service_id, consent=False)
    assert citizen.post(f"/drafts/{draft_id}", data={"full_name": "Somphone Citizen", "id_number": "LA123456", "action": "save"}).status_code == 303
    uploaded = citizen.post(f"/drafts/{draft_id}/documents", data={"document_type": "evidence"}, files={"file": (file_name, PNG, "image/png")})
    assert uploaded.status_code == 303, uploaded.text
    sent = citizen.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})
    assert sent.status_code == 303, sent.text
    return sent.headers["location"].split("/applications/")[1].split("?")[0]


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
    document_path = re.search(r'href="(/operator/files/[^"]+/documents/[^"]+)"', page.text).group(1)

    download = operator.get(document_path)

    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"] == "attachment; filename=\"evidence.png\"; filename*=UTF-8''evidence.png"


def test_documents_are_listed_by_their_slot(operator, application):
    page = operator.get(f"/operator/tasks/{open_task_of(operator, application)}")

    link = re.search(r'<a class="document" href="[^"]+" data-type="evidence">([^<]+)</a>', page.text)

    assert link and link.group(1) == "ດາວໂຫຼດ: ຫຼັກຖານ"  # the slot's Lao label, as the design names it


def test_download_is_named_after_the_upload_with_the_extension_of_its_content(operator, citizen, service_id):
    # A PNG the citizen's device called a JPEG, with characters a saved file's name must not have.
    file_id = submitted_with_evidence(citizen, service_id, file_name="ບັດ <x>;.jpg")
    page = operator.get(f"/operator/tasks/{open_task_of(operator, file_id)}")
    document_path = re.search(r'href="(/operator/files/[^"]+/documents/[^"]+)"', page.text).group(1)

    download = operator.get(document_path)

    assert download.status_code == 200
    assert download.headers["content-disposition"] == f"attachment; filename=\"___ x.png\"; filename*=UTF-8''{quote('ບັດ x.png')}"


@pytest.mark.parametrize("file_name, document_type, content_type, expected", [
    ("scan.PDF", "lease", "application/pdf", "scan.pdf"),
    ("photo.jpeg", "id_card", "image/jpeg", "photo.jpg"),
    ('a/b\\c:d"e.png', "", "image/png", "abcde.png"),
    ("", "owner_id_card", "image/png", "owner_id_card.png"),
    ("\u202egnp.exe", "", "application/octet-stream", "gnp.bin"),  # a right-to-left override is not printable: dropped
    ("...", "", "image/png", "document.png"),
])
def test_download_names(file_name, document_type, content_type, expected):
    assert download_name(file_name=file_name, document_type=document_type, content_type=content_type) == expected


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


def test_unknown_task_and_document_are_not_found(operator, application):
    assert operator.get("/operator/tasks/no-such-task").status_code == 404
    assert operator.get(f"/operator/files/{application}/documents/no-such-document").status_code == 404
    assert operator.get("/operator/files/no-such-file/documents/no-such-document").status_code == 404


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


def _decisions(registration_api, file_id: str) -> list[str]:
    history = registration_api("GET", f"applications/{file_id}", roles=["enterprise_reviewer"]).json()["history"]
    return [entry["action"] for entry in history if entry["action"] in ("approve", "reject", "send_back")]


def test_a_different_decision_on_a_decided_task_is_refused_and_the_first_one_stands(operator, application, registration_api):
    task_id = open_task_of(operator, application)
    assert decide(operator, task_id, "approve", "Documents complete").status_code == 303

    late = decide(operator, task_id, "reject", "Income evidence missing")  # e.g. from a second tab on the same task

    assert late.status_code == 409
    assert LO["already_decided"].format(who=LO["decided_by_you"], decision=LO["action_approve"], reason="Documents complete") in late.text
    assert _decisions(registration_api, application) == ["approve"]
    assert open_task_of(operator, application, role="registrar")  # the approval moved the file on


def test_the_same_decision_sent_twice_is_recorded_once(operator, application, registration_api):
    task_id = open_task_of(operator, application)

    first = decide(operator, task_id, "send_back", "Check the name")
    again = decide(operator, task_id, "send_back", "Check the name")  # a double click, or the browser sending it again

    assert first.status_code == again.status_code == 303 and again.headers["location"] == "/operator?decided=1"
    assert _decisions(registration_api, application) == ["send_back"]


def test_a_decision_after_another_officers_names_the_other_officer(operator, other_reviewer, application):
    task_id = open_task_of(operator, application)
    assert decide(other_reviewer, task_id, "reject", "Not eligible").status_code == 303

    late = decide(operator, task_id, "approve", "Documents complete")

    assert late.status_code == 409
    assert LO["already_decided"].format(who=LO["decided_by_other"], decision=LO["action_reject"], reason="Not eligible") in late.text


def _thread(page: httpx.Response) -> str:
    return page.text.split('id="message-thread"')[1].split("</ol>")[0]


def test_operator_reads_the_applicants_message_and_replies(operator, citizen, application):
    assert citizen.post(f"/applications/{application}/messages", data={"text": "ສະບາຍດີ, is my evidence readable?"}).status_code == 303
    task_id = open_task_of(operator, application)

    before = operator.get(f"/operator/tasks/{task_id}")
    replied = operator.post(f"/operator/tasks/{task_id}/messages", data={"text": "Yes, it is readable."})
    after = operator.get(replied.headers["location"])
    seen_by_citizen = citizen.get(f"/applications/{application}")

    assert f"{LO['from_applicant']}</strong>: ສະບາຍດີ, is my evidence readable?" in _thread(before)
    assert replied.status_code == 303 and replied.headers["location"] == f"/operator/tasks/{task_id}?sent=1#messages"
    assert _thread(after).index("ສະບາຍດີ") < _thread(after).index(f"{CONSOLE_LO['assigned_to_you']} (reviewer)</strong>: Yes, it is readable.")
    assert LO["reply_sent"] in after.text
    assert "Yes, it is readable." in seen_by_citizen.text


@pytest.mark.parametrize("text", ["   ", "x" * 4001])
def test_an_empty_or_overlong_reply_is_refused_and_nothing_is_sent(operator, application, registration_api, text):
    task_id = open_task_of(operator, application)

    refused = operator.post(f"/operator/tasks/{task_id}/messages", data={"text": text})
    messages = registration_api("GET", f"applications/{application}/messages", roles=["enterprise_reviewer"]).json()

    assert refused.status_code == 400 and 'id="message-error"' in refused.text
    assert messages == []


def test_a_reply_without_a_staff_session_is_not_sent(base_url, operator, citizen, application, registration_api):
    task_id = open_task_of(operator, application)

    # A form on another site posts without the session cookie (SameSite=Lax), like a visitor who is not signed in.
    anonymous = httpx.post(f"{base_url}/operator/tasks/{task_id}/messages", data={"text": "forged"})
    as_citizen = citizen.post(f"/operator/tasks/{task_id}/messages", data={"text": "forged"})
    messages = registration_api("GET", f"applications/{application}/messages", roles=["enterprise_reviewer"]).json()

    assert anonymous.status_code == 303 and "/staff/sign-in" in anonymous.headers["location"]
    assert as_citizen.status_code == 303 and "/staff/sign-in" in as_citizen.headers["location"]
    assert messages == []


def test_a_reply_to_an_unknown_task_is_not_found(operator):
    assert operator.post("/operator/tasks/no-such-task/messages", data={"text": "hello"}).status_code == 404
