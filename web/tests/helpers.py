"""A citizen's browser over plain HTTP: signs in through the Identity BB and keeps the portal's cookies."""
import re
import uuid

import httpx
from sqlmodel import Session

from identity import persons, uin
from identity.fixtures import DEMO_CITIZEN_ATTRIBUTES, DEMO_CITIZEN_UIN
from identity.models import Person, PersonRevision
from kernel.db import make_engine

DEMO_PIN = "123456"


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def new_person(identity_settings) -> str:
    """A person enrolled at the Identity BB (PIN DEMO_PIN), so a test starts from a citizen with no history; returns the UIN."""
    number, person_id = uin.new_uin(), str(uuid.uuid4())
    engine = make_engine(identity_settings)
    with Session(engine) as session:
        session.add(Person(id=person_id, uin=number, attributes=DEMO_CITIZEN_ATTRIBUTES))
        session.add(PersonRevision(person_id=person_id, version=1, attributes=DEMO_CITIZEN_ATTRIBUTES))
        session.flush()
        persons.set_pin(session, person_id=person_id, pin=DEMO_PIN)
        session.commit()
    engine.dispose()
    return number


def signed_in_browser(base_url: str, *, lang: str | None = None, new_person_at=None) -> httpx.Client:
    """A browser signed in as the demo citizen, or as a new person when given the identity fixture (url, settings)."""
    individual_id = new_person(new_person_at[1]) if new_person_at else DEMO_CITIZEN_UIN
    browser = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    if lang:
        browser.cookies.set("lang", lang)
    back = sign_in(browser, "/auth/login", individual_id=individual_id)
    assert back.status_code == 303 and back.headers["location"] == "/services", back.text
    return browser


def sign_in(browser: httpx.Client, login_url: str, *, individual_id: str = DEMO_CITIZEN_UIN) -> httpx.Response:
    """Drive the portal's sign-in at login_url (e.g. where the portal sent a signed-out browser) through the Identity BB;
    returns the portal's answer to the callback: a redirect to the page to come back to."""
    to_identity = browser.get(login_url)
    assert to_identity.status_code == 303, to_identity.text
    login_page = browser.get(to_identity.headers["location"])
    assert login_page.status_code == 200, login_page.text
    identity = to_identity.headers["location"].split("/authorize")[0]
    logged_in = browser.post(f"{identity}/authorize/login", data={"transaction_id": field(login_page.text, "transaction_id"),
                                                                "individual_id": individual_id, "pin": DEMO_PIN})
    assert logged_in.status_code == 303, logged_in.text
    return browser.get(logged_in.headers["location"])


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough for the registration BB's content sniffing
VALID_ENTERPRISE = {"company_name_lo": "ບໍລິສັດ ທົດສອບ ຈຳກັດ", "company_name_en": "Test Trading Co", "activity": "retail",
                    "province": "VTE", "district": "Chanthabouly", "registered_capital_lak": "50000000",
                    "owner_name": "ສົມພອນ ພົນເມືອງ", "owner_id_number": "LA123456"}


def service_id_named(registration_url: str, name: str) -> str:
    services = httpx.get(f"{registration_url}/services", params={"name": name}).json()
    assert len(services) == 1, services
    return services[0]["id"]


def enterprise_service_id(registration_url: str) -> str:
    return service_id_named(registration_url, "Enterprise registration")


def cash_transfer_service_id(registration_url: str) -> str:
    return service_id_named(registration_url, "Social cash transfer enrolment")


def consent_record_ids(browser: httpx.Client) -> list[str]:
    """The record ids "my consents" lists, newest first."""
    page = browser.get("/consents")
    assert page.status_code == 200, page.text
    return re.findall(r'data-record-id="([^"]+)"', page.text)


def new_draft(browser: httpx.Client, service_id: str, *, consent: bool = True) -> str:
    """A new draft of the service; with consent=True the citizen has agreed to the service's data agreement."""
    response = browser.post(f"/services/{service_id}/apply")
    assert response.status_code == 303, response.text
    draft_id = response.headers["location"].rsplit("/", 1)[-1]
    if consent:
        agreed = browser.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"})
        assert agreed.status_code == 303, agreed.text
    return draft_id


def submitted_application(browser: httpx.Client, service_id: str) -> str:
    """A complete enterprise registration submitted through the portal; returns its file id."""
    draft_id = new_draft(browser, service_id)
    assert browser.post(f"/drafts/{draft_id}", data={**VALID_ENTERPRISE, "action": "save"}).status_code == 303
    uploaded = browser.post(f"/drafts/{draft_id}/documents", data={"document_type": "owner_id_card"}, files={"file": ("id.png", PNG, "image/png")})
    assert uploaded.status_code == 303, uploaded.text
    submitted = browser.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"})
    assert submitted.status_code == 303, submitted.text
    return submitted.headers["location"].split("/applications/")[1].split("?")[0]
