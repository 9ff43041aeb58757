"""`FIXTURES=demo make run` works end to end with no hand wiring: every service as its own processes (deploy/local/run.py),
one PostgreSQL database each, and only HTTP from here on, the way a browser and an operator use it. A citizen signs in
through the Identity BB, consents, uploads, submits the Lao enterprise registration; the demo operator signs in at
identity's staff login and approves as reviewer then registrar; the approval email reaches an SMTP server (the test's
own, standing in for a mail relay); after the citizen withdraws the consent, a prepared submission is refused."""
import re
import uuid

import httpx
import psycopg
import pytest

from kernel.testing import wait_until
from .test_local_run import SERVICES, make_run
from .test_registration_notifies_citizen import mailbox  # noqa: F401  (a real SMTP server, standing in for a mail relay)

# The demo data set, as the README's demo-accounts section lists it.
CITIZEN_ID_NUMBER, CITIZEN_PIN = "6170843404", "123456"
OPERATOR, OPERATOR_PASSWORD = "operator", "operator-demo-pass"
ENTERPRISE_SERVICE = "ການຈົດທະບຽນວິສາຫະກິດ"  # "Enterprise registration": the portal speaks Lao by default
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
APPROVAL_SUBJECT = "ຜົນການພິຈາລະນາຄຳຮ້ອງ"  # "decision on the application", the Lao subject of the approval email


@pytest.fixture(scope="module")
def demo(infrastructure, mailbox, tmp_path_factory):
    """`make run` with FIXTURES=demo; yields the base port. Its per-service databases are dropped afterwards."""
    database_url = infrastructure.new_database("demo_run")
    try:
        with make_run(infrastructure, tmp_path_factory.mktemp("demo-run"), FIXTURES="demo", DATABASE_URL=database_url,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox[1])) as (base, _):
            yield base
    finally:
        database = database_url.rsplit("/", 1)[1]
        with psycopg.connect(infrastructure.postgres_admin_url, autocommit=True) as connection:
            for name in SERVICES:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}_{name}" WITH (FORCE)')


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def browser(base: int) -> httpx.Client:
    # localhost as in every service's PUBLIC_URL: the portal's redirect URI and its cookies are registered for that name.
    return httpx.Client(base_url=f"http://localhost:{base + SERVICES['web']}", follow_redirects=False, timeout=60)


def sign_in(portal: httpx.Client, start: str, form: str, credentials: dict) -> None:
    """Portal -> identity's /authorize login page -> its form -> back to the portal's callback, which opens the session."""
    to_identity = portal.get(start)
    assert to_identity.status_code == 303, to_identity.text
    login_page = portal.get(to_identity.headers["location"])
    assert login_page.status_code == 200, login_page.text
    identity = to_identity.headers["location"].split("/authorize")[0]
    logged_in = portal.post(f"{identity}/authorize/{form}", data={"transaction_id": field(login_page.text, "transaction_id"), **credentials})
    assert logged_in.status_code == 303, logged_in.text
    back = portal.get(logged_in.headers["location"])
    assert back.status_code == 303, back.text


def enterprise_service_id(portal: httpx.Client) -> str:
    catalogue = portal.get("/services")
    assert catalogue.status_code == 200, catalogue.text
    match = re.search(rf'data-service-id="([^"]+)">\s*<h2>{ENTERPRISE_SERVICE}</h2>', catalogue.text)
    assert match, "the demo enterprise registration is not in the catalogue"
    return match.group(1)


def prepared_draft(citizen: httpx.Client, service_id: str, owner_email: str, *, consent_asked: bool) -> str:
    """A draft with the form filled in and the owner's ID card uploaded, after the consent step (asked and given only
    while the citizen has no valid consent to the service's data agreement); returns its id."""
    applied = citizen.post(f"/services/{service_id}/apply")
    assert applied.status_code == 303, applied.text
    draft_id = applied.headers["location"].rsplit("/", 1)[-1]
    first_page = citizen.get(f"/drafts/{draft_id}")
    assert first_page.status_code == 200 and ('id="give-consent"' in first_page.text) == consent_asked, first_page.text
    if consent_asked:
        agreed = citizen.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"})
        assert agreed.status_code == 303, agreed.text
    saved = citizen.post(f"/drafts/{draft_id}", data={
        "company_name_lo": "ບໍລິສັດ ນ້ຳໃສ ຈຳກັດ", "company_name_en": "Nam Sai Co", "activity": "retail", "province": "VTE",
        "district": "Sisattanak", "registered_capital_lak": "50000000", "owner_name": "ສົມພອນ ພົນເມືອງ",
        "owner_id_number": "LA123456", "owner_email": owner_email, "action": "save"})
    assert saved.status_code == 303, saved.text
    uploaded = citizen.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"},
                            files={"file": ("id.png", PNG, "image/png")})
    assert uploaded.status_code == 303, uploaded.text
    return draft_id


def open_task(operator: httpx.Client, file_id: str, role: str) -> str:
    def task_id():
        page = operator.get("/operator", params={"role": role})
        assert page.status_code == 200, page.text
        match = re.search(rf'href="/operator/tasks/([^"]+)" data-file="{file_id}"', page.text)
        return match and match.group(1)

    # The registrar's task appears once the reviewer's decision is processed.
    return wait_until(task_id, timeout=30, message=f"the {role}'s task")


def test_demo_citizen_registers_an_enterprise_and_withdraws_consent(demo, mailbox):
    box, _ = mailbox
    owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.la"
    citizen, operator = browser(demo), browser(demo)

    sign_in(citizen, "/auth/login", "login", {"individual_id": CITIZEN_ID_NUMBER, "pin": CITIZEN_PIN})
    service_id = enterprise_service_id(citizen)
    draft_id = prepared_draft(citizen, service_id, owner_email, consent_asked=True)
    submitted = citizen.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})
    assert submitted.status_code == 303 and "/applications/" in submitted.headers["location"], submitted.text
    file_id = submitted.headers["location"].split("/applications/")[1].split("?")[0]

    sign_in(operator, "/staff/sign-in", "staff-login", {"username": OPERATOR, "password": OPERATOR_PASSWORD})
    for role, reason in (("reviewer", "Documents complete"), ("registrar", "Registered")):
        decided = operator.post(f"/operator/tasks/{open_task(operator, file_id, role)}/decide",
                                data={"decision": "approve", "reason": reason})
        assert decided.status_code == 303 and decided.headers["location"] == "/operator?decided=1", decided.text

    approvals = wait_until(lambda: [m for m in box.to(owner_email) if m["Subject"].startswith(APPROVAL_SUBJECT)], timeout=60,
                           message="the approval email")
    assert file_id in approvals[0]["Subject"] and "ໄດ້ຮັບການອະນຸມັດ" in approvals[0].get_content()
    status = citizen.get(f"/applications/{file_id}")
    assert re.search(r'id="registration-number">LER[^<]+<', status.text), status.text

    # A second application is ready to go (the consent still holds) when the citizen withdraws the consent it rests on.
    second_draft = prepared_draft(citizen, service_id, owner_email, consent_asked=False)
    consents = citizen.get("/consents")
    record_ids = re.findall(r'data-record-id="([^"]+)"', consents.text)
    assert record_ids, consents.text
    for record_id in record_ids:
        withdrawn = citizen.post(f"/consents/{record_id}/withdraw", data={"confirm": "yes"})
        assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/consents?withdrawn=1", withdrawn.text
    refused = citizen.post(f"/drafts/{second_draft}/submit", data={"confirm": "yes"})

    assert refused.status_code == 303 and refused.headers["location"] == f"/drafts/{second_draft}?consent_missing=1", refused.text
    assert 'id="give-consent"' in citizen.get(f"/drafts/{second_draft}").text  # the wizard asks for consent again
    assert "ຖອນແລ້ວ" in citizen.get("/consents").text  # "withdrawn"
