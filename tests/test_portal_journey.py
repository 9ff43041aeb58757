"""The whole enterprise registration in real headless Chromium (Debian's), Lao UI, every service running for real: the
citizen consents and applies through the portal, the operator sends it back from the console, the citizen corrects it,
the operator approves it as reviewer and registrar, the approval email reaches a real SMTP server, the registry record
exists, and the consent shows in "my consents". Screenshots go to artifacts/screenshots."""
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from identity import service_accounts
from identity.app import create_app as create_identity
from identity.fixtures import DEMO_CITIZEN_UIN, DEMO_STAFF, PORTAL_CLIENT_ID
from identity.models import OidcClient
from identity.settings import IdentitySettings
from kernel import relay
from kernel.consumer import Consumer
from kernel.db import make_engine
from kernel.testing import free_port, running, serve, wait_until
from messaging.app import create_app as create_messaging
from messaging.delivery import DeliveryWorker, ensure_topology
from messaging.handlers import handlers_for
from messaging.settings import MessagingSettings
from registration.app import create_app as create_registration
from registration.models import RegistryRecord
from registration.settings import DEV_SERVICE_PUBLIC_JWK, RegistrationSettings
from web.app import create_app as create_web
from web.settings import WebSettings
from .test_registration_notifies_citizen import mailbox  # noqa: F401  (a real SMTP server keeping what it accepts)

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PORTAL = "govstack-portal"
ENTERPRISE = {"company_name_lo": "ບໍລິສັດ ນ້ຳໃສ ຈຳກັດ", "company_name_en": "Nam Sai Trading", "activity": "retail", "province": "VTE",
              "district": "Sisattanak", "registered_capital_lak": "50000000", "owner_name": "ສົມພອນ ພົນເມືອງ", "owner_id_number": "LA123456"}


def _gateway_config(registration_url: str, consent_url: str) -> dict:
    """The exchange's directory: the portal calls registration and consent, registration asks consent, messaging reads
    applicants' notification contacts from registration."""
    def allow(*applications):
        return [{"member": "GOV/LA-DGC", "application": application} for application in applications]

    return {"members": [{"class": "GOV", "code": "LA-DGC", "applications": [
        {"id": "web-portal", "clientId": PORTAL},
        {"id": "messaging-bb", "clientId": "messaging-bb"},
        {"id": "registration-bb", "clientId": "registration-bb", "services": [
            {"id": "registration", "serviceUrl": registration_url, "rights": allow("web-portal", "messaging-bb")}]},
        {"id": "consent-bb", "clientId": "consent-bb", "services": [
            {"id": "consent", "serviceUrl": consent_url, "rights": allow("web-portal", "registration-bb")}]},
    ]}]}


@pytest.fixture(scope="module")
def suite(infrastructure, oidc_issuer, mailbox, tmp_path_factory):  # noqa: F811
    amqp_url = infrastructure.new_vhost("journey")
    identity_port, gateway_port, web_port = free_port(), free_port(), free_port()
    identity_url, gateway_url = f"http://127.0.0.1:{identity_port}", f"http://127.0.0.1:{gateway_port}"
    identity = IdentitySettings(database_url=infrastructure.new_database("journey_identity"), amqp_url=amqp_url, port=identity_port,
                                public_url=identity_url, oidc_issuers=[oidc_issuer.url], environment="test", fixtures="demo")
    registration = RegistrationSettings(database_url=infrastructure.new_database("journey_registration"), amqp_url=amqp_url,
                                        oidc_issuers=[identity_url], oidc_audience=["registration", PORTAL], environment="test",
                                        fixtures="demo", data_dir=tmp_path_factory.mktemp("journey-registration"),
                                        identity_url=identity_url, gateway_url=gateway_url)
    consent = ConsentSettings(database_url=infrastructure.new_database("journey_consent"), amqp_url=amqp_url, oidc_issuers=[identity_url],
                              oidc_audience=["consent", PORTAL], environment="test", fixtures="demo",
                              data_dir=tmp_path_factory.mktemp("journey-consent"))
    web = WebSettings(database_url=infrastructure.new_database("journey_web"), amqp_url=amqp_url, port=web_port,
                      public_url=f"http://127.0.0.1:{web_port}", identity_url=identity_url, gateway_url=gateway_url, environment="test")
    with serve(create_identity(identity), port=identity_port):
        identity_engine = make_engine(identity)
        with Session(identity_engine) as session:
            # What an administrator registers: registration's key (it asks the Consent BB), and the portal's address here.
            service_accounts.upsert(session, client_id="registration-bb", name="Registration BB", public_key=DEV_SERVICE_PUBLIC_JWK,
                                    scopes=[], roles=["verifier"])
            client = session.get(OidcClient, PORTAL_CLIENT_ID)
            client.redirect_uris = [*client.redirect_uris, f"{web.public_url}/auth/callback"]
            session.add(client)
            session.commit()
        identity_engine.dispose()
        with serve(create_registration(registration)) as registration_url, serve(create_consent(consent)) as consent_url:
            gateway = GatewaySettings(database_url=infrastructure.new_database("journey_gateway"), amqp_url=amqp_url,
                                      oidc_issuers=[identity_url, oidc_issuer.url], oidc_audience=["gateway", "consent", "registration", PORTAL],
                                      environment="test", registration_url=registration_url, consent_url=consent_url, forward_bearer_token=True)
            with serve(create_gateway(gateway), port=gateway_port):
                admin = oidc_issuer.token(sub="admin-1", audience="gateway", roles=["admin"], expires_in=3600)
                configured = httpx.patch(f"{gateway_url}/api/v1/config", json=_gateway_config(registration_url, consent_url),
                                         headers={"Authorization": f"Bearer {admin}"})
                assert configured.status_code == 201, configured.text
                messaging = MessagingSettings(database_url=infrastructure.new_database("journey_messaging"), amqp_url=amqp_url,
                                              oidc_issuers=[identity_url], environment="test", smtp_host="127.0.0.1", smtp_port=mailbox[1],
                                              identity_url=identity_url, gateway_url=gateway_url, consumer_retry_delay_ms=200,
                                              scheduler_poll_seconds=0.1)
                with serve(create_messaging(messaging)), serve(create_web(web), port=web_port) as web_url:
                    registration_engine, messaging_engine = make_engine(registration), make_engine(messaging)
                    ensure_topology(messaging)
                    consumer = Consumer(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange, queue=messaging.service_name,
                                        source=messaging.service_name, handlers=handlers_for(messaging), retry_delay_ms=200)
                    with running(lambda stop: relay.run(registration_engine, amqp_url=amqp_url, exchange=registration.events_exchange,
                                                        poll_seconds=0.02, stop=stop)), \
                            running(lambda stop: relay.run(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange,
                                                           poll_seconds=0.02, stop=stop)), \
                            running(consumer.run), running(DeliveryWorker(messaging_engine, messaging).run):
                        yield web_url, registration_engine
                    registration_engine.dispose()
                    messaging_engine.dispose()


@pytest.fixture
def browser():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def phone(browser):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.set_default_timeout(20_000)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"), full_page=True)


def operator_decides(operator, web_url: str, file_id: str, decision: str, reason: str, *, role: str) -> None:
    operator.goto(f"{web_url}/operator?role={role}")
    operator.click(f'a.task[data-file="{file_id}"]')
    operator.click(f"#decision-{decision}")
    operator.fill("#reason", reason)
    operator.click("#record-decision")
    operator.wait_for_url("**/operator?decided=1")


def test_enterprise_registration_in_lao_from_application_to_registry(suite, mailbox, browser, tmp_path):  # noqa: F811
    web_url, registration_engine = suite
    box, _ = mailbox
    recipient = f"owner-{uuid.uuid4().hex[:8]}@example.la"
    id_card = tmp_path / "id-card.png"
    id_card.write_bytes(PNG)
    citizen, operator = phone(browser), phone(browser)

    citizen.goto(web_url + "/")
    citizen.click("#sign-in")
    citizen.fill("#individual_id", DEMO_CITIZEN_UIN)
    citizen.fill("#pin", "123456")
    citizen.click("form[action='/authorize/login'] button[type=submit]")
    citizen.wait_for_url(web_url + "/services")
    citizen.locator("section.service", has_text="ການຈົດທະບຽນວິສາຫະກິດ").locator("button").click()
    citizen.check("#agree")
    citizen.click("#give-consent")
    for name, value in {**ENTERPRISE, "owner_email": recipient}.items():
        if name in ("activity", "province"):
            citizen.select_option(f"#f-{name}", value)
        else:
            citizen.fill(f"#f-{name}", value)
    citizen.click("#save-draft")
    citizen.set_input_files("#d-owner_id_card", str(id_card))
    citizen.locator("#upload-owner_id_card button").click()
    expect(citizen.locator("#documents-count")).to_be_visible()
    citizen.click("#review")
    citizen.check("#confirm")
    citizen.click("#submit")
    citizen.wait_for_url("**/applications/*")
    file_id = citizen.url.split("/applications/")[1].split("?")[0]
    shot(citizen, "01-citizen-submitted")

    operator.goto(f"{web_url}/staff/sign-in?next=/operator")
    operator.fill("#username", "operator")
    operator.fill("#password", DEMO_STAFF["operator"][0])
    operator.click("#staff-sign-in")
    operator.wait_for_url(web_url + "/operator")
    operator.click(f'a.task[data-file="{file_id}"]')
    operator.click("#claim")
    operator.click("#decision-send_back")
    operator.fill("#reason", "ຊື່ພາສາອັງກິດຕ້ອງກົງກັບສັນຍາເຊົ່າ")
    operator.check("#fix-company_name_en")
    shot(operator, "02-operator-sends-back")
    operator.click("#record-decision")
    operator.wait_for_url("**/operator?decided=1")

    citizen.goto(f"{web_url}/applications/{file_id}")
    expect(citizen.locator("body")).to_contain_text("ຊື່ພາສາອັງກິດຕ້ອງກົງກັບສັນຍາເຊົ່າ")
    citizen.fill("#f-company_name_en", "Nam Sai Trading Co")
    shot(citizen, "03-citizen-corrects")
    citizen.click("#resubmit")
    citizen.wait_for_url("**?resubmitted=1")

    operator_decides(operator, web_url, file_id, "approve", "ເອກະສານຄົບຖ້ວນ", role="reviewer")
    operator_decides(operator, web_url, file_id, "approve", "ຈົດທະບຽນແລ້ວ", role="registrar")

    wait_until(lambda: [m for m in box.to(recipient) if m["Subject"].startswith("ຜົນການພິຈາລະນາຄຳຮ້ອງ")], timeout=30,
               message="the approval email")
    citizen.goto(f"{web_url}/applications/{file_id}")
    expect(citizen.locator("#status")).to_have_text("ອະນຸມັດແລ້ວ")
    number = citizen.locator("#registration-number").inner_text()
    shot(citizen, "04-citizen-approved")
    citizen.click("#my-consents")
    expect(citizen.locator("[data-record-id]").first).to_be_visible()
    shot(citizen, "05-my-consents")

    with Session(registration_engine) as session:
        record = session.exec(select(RegistryRecord).where(RegistryRecord.file_id == file_id)).one()
    assert record.registration_number == number and number.startswith("LER-")
    assert record.data["company_name_en"] == "Nam Sai Trading Co"
