"""Staff in the consoles: sign-in through the Identity BB's staff login (plain HTTP or a Playwright page), and an e-service of
the tests' own for the operator to process."""
import uuid

import httpx
import yaml
from playwright.sync_api import expect

from identity.fixtures import DEMO_STAFF
from web.routes.designer import STARTER
from .helpers import PNG, field, new_draft


def staff_login(browser: httpx.Client, username: str, *, password: str | None = None, next_path: str = "") -> httpx.Response:
    """Drive /staff/sign-in through identity's staff form; returns the portal's answer to the callback."""
    to_identity = browser.get("/staff/sign-in" + (f"?next={next_path}" if next_path else ""))
    assert to_identity.status_code == 303, to_identity.text
    login_page = browser.get(to_identity.headers["location"])
    assert login_page.status_code == 200, login_page.text
    identity = to_identity.headers["location"].split("/authorize")[0]
    logged_in = browser.post(f"{identity}/authorize/staff-login", data={
        "transaction_id": field(login_page.text, "transaction_id"), "username": username,
        "password": password if password is not None else DEMO_STAFF[username][0]})
    assert logged_in.status_code == 303, logged_in.text
    return browser.get(logged_in.headers["location"])


def staff_sign_in(page, base_url: str, username: str, next_path: str) -> None:
    """The same sign-in in a Playwright page: the staff tab of identity's login page is open."""
    page.goto(f"{base_url}/staff/sign-in?next={next_path}")
    expect(page.locator("#staff-login")).to_have_attribute("open", "")
    page.fill("#username", username)
    page.fill("#password", DEMO_STAFF[username][0])
    page.click("#staff-sign-in")
    page.wait_for_url(f"{base_url}{next_path}")


def signed_in_staff(base_url: str, username: str) -> httpx.Client:
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    back = staff_login(browser, username)
    assert back.status_code == 303, back.text
    return browser


def operator_test_service(registration_api) -> str:
    """An e-service of this module's own, processed by the demo operator's roles: a reviewer who does not see the ID number,
    then a registrar who does and whose approval writes the registry."""
    document = yaml.safe_load(STARTER)
    code = "OPS" + uuid.uuid4().hex[:5].upper()
    eform = document["eforms"][0]
    eform["id"] = f"{code.lower()}-application"
    eform["schema"]["properties"]["id_number"] = {"type": "string", "pattern": "^[0-9A-Z-]{6,20}$"}
    eform["fields"]["id_number"] = {"label": {"en": "ID card number", "lo": "ເລກບັດປະຈຳຕົວ"}, "classification": "sensitive_personal",
                                    "layout": {"section": "applicant", "order": 2, "widget": "text"}}
    sees = ["public", "internal", "personal"]
    document.update(code=code, name={"en": "Operator test licence", "lo": "ໃບອະນຸຍາດທົດສອບ"}, steps=[{"type": "require_signed_in_citizen"},
                                                                                             {"type": "write_registry"}],
                    documents=[{"type": "evidence", "label": {"en": "Evidence", "lo": "ຫຼັກຖານ"}, "content_types": ["image/png"],
                                "max_bytes": 1048576, "required": True, "classification": "personal"}],  # the reviewer sees personal
                    roles=[{"id": "reviewer", "name": {"en": "Reviewer", "lo": "ຜູ້ກວດກາ"}, "operator_roles": ["enterprise_reviewer"], "sees": sees,
                            "decisions": {"approve": "registrar", "reject": "end", "send_back": "applicant"}},
                           {"id": "registrar", "name": {"en": "Registrar", "lo": "ນາຍທະບຽນ"}, "operator_roles": ["enterprise_registrar"],
                            "sees": [*sees, "sensitive_personal"], "decisions": {"approve": "end", "reject": "end", "send_back": "reviewer"}}])
    imported = registration_api("POST", "designer/services/import", roles=["designer"], params={"publish": "true"}, json=document)
    assert imported.status_code == 200, imported.text
    return imported.json()["id"]


def submitted(citizen: httpx.Client, service_id: str) -> str:
    """An application to the module's service, submitted through the portal; returns its file id."""
    draft_id = new_draft(citizen, service_id, consent=False)
    assert citizen.post(f"/drafts/{draft_id}", data={"full_name": "Somphone Citizen", "id_number": "LA123456", "action": "save"}).status_code == 303
    uploaded = citizen.post(f"/drafts/{draft_id}/documents", data={"document_type": "evidence"}, files={"file": ("evidence.png", PNG, "image/png")})
    assert uploaded.status_code == 303, uploaded.text
    sent = citizen.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/applications/"), sent.headers.get("location")
    return sent.headers["location"].split("/applications/")[1].split("?")[0]
