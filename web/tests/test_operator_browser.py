"""An operator and a citizen in a real headless Chromium (Debian's), Lao UI: the operator sends an application back with a
reason and a marked field, the citizen corrects it, the operator approves it in both roles. In English: a decision from a
second tab on a task already decided is refused and says what was decided. Screenshots go to artifacts/screenshots."""
import pytest
from playwright.sync_api import expect

from identity.fixtures import DEMO_CITIZEN_UIN
from .helpers import DEMO_PIN, signed_in_browser
from .staff_helpers import operator_test_service, staff_sign_in, submitted
from .test_browser_e2e import page, shot  # noqa: F401  (the page fixture: a phone-sized Chromium page)


@pytest.fixture(scope="module")
def service_id(registration_api) -> str:
    return operator_test_service(registration_api)


def decide(page, file_id: str, decision: str, reason: str, *, role: str, fix: str | None = None) -> None:
    page.goto(page.url.split("/operator")[0] + f"/operator?role={role}")
    page.click(f'a.task[data-file="{file_id}"]')
    page.click(f"#decision-{decision}")
    page.fill("#reason", reason)
    if fix:
        page.check(f"#fix-{fix}")
    page.click("#record-decision")
    page.wait_for_url("**/operator?decided=1")


def test_operator_sends_back_and_approves_after_the_citizen_corrects(page, base_url, service_id):  # noqa: F811
    file_id = submitted(signed_in_browser(base_url), service_id)

    staff_sign_in(page, base_url, "operator", "/operator")
    task = page.locator(f'a.task[data-file="{file_id}"]')
    expect(task).to_be_visible()
    shot(page, "operator-01-tasks")

    task.click()
    expect(page.locator('[data-field="full_name"]')).to_have_text("Somphone Citizen")
    expect(page.locator('[data-field="id_number"]')).to_have_count(0)  # the reviewer's role does not see the ID number
    page.click("#claim")
    expect(page.locator("#assignee")).to_have_text("ທ່ານ")
    page.click("#decision-send_back")
    page.fill("#reason", "ຊື່ບໍ່ກົງກັບບັດປະຈຳຕົວ")
    page.check("#fix-full_name")
    shot(page, "operator-02-send-back")
    page.click("#record-decision")
    page.wait_for_url("**/operator?decided=1")
    expect(page.locator(f'a.task[data-file="{file_id}"]')).to_have_count(0)
    shot(page, "operator-03-decided")

    citizen = page.context.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    citizen.goto(f"{base_url}/auth/login?next=/applications/{file_id}")
    citizen.fill("#individual_id", DEMO_CITIZEN_UIN)
    citizen.fill("#pin", DEMO_PIN)
    citizen.click("form[action='/authorize/login'] button[type=submit]")
    citizen.wait_for_url(f"**/applications/{file_id}")
    expect(citizen.locator("body")).to_contain_text("ຊື່ບໍ່ກົງກັບບັດປະຈຳຕົວ")
    citizen.fill("#f-full_name", "Somphone Phonmuang")
    shot(citizen, "operator-04-citizen-corrects")
    citizen.click("#resubmit")
    citizen.wait_for_url("**?resubmitted=1")

    decide(page, file_id, "approve", "ເອກະສານຄົບຖ້ວນ", role="reviewer")
    page.goto(f"{base_url}/operator?role=registrar")
    page.click(f'a.task[data-file="{file_id}"]')
    expect(page.locator('[data-field="full_name"]')).to_have_text("Somphone Phonmuang")
    expect(page.locator('[data-field="id_number"]')).to_have_text("LA123456")  # the registrar's role does
    shot(page, "operator-05-registrar")
    decide(page, file_id, "approve", "ຈົດທະບຽນແລ້ວ", role="registrar")

    citizen.goto(f"{base_url}/applications/{file_id}")
    expect(citizen.locator("#status")).to_have_text("ອະນຸມັດແລ້ວ")
    expect(citizen.locator("#registration-number")).to_be_visible()
    shot(citizen, "operator-06-citizen-approved")
    citizen.context.close()


def test_a_second_tab_is_told_the_task_was_already_decided(page, base_url, service_id):  # noqa: F811
    file_id = submitted(signed_in_browser(base_url), service_id)
    staff_sign_in(page, base_url, "operator", "/operator?lang=en")
    page.click(f'a.task[data-file="{file_id}"]')
    second = page.context.new_page()  # the same task open in another tab, before the first decides
    second.goto(page.url)

    page.check("#decision-approve")
    page.fill("#reason", "OK from tab 1")
    page.click("#record-decision")
    page.wait_for_url("**/operator?decided=1")
    second.check("#decision-reject")
    second.fill("#reason", "Rejected from tab 2: evidence missing")
    second.click("#record-decision")

    expect(second.locator("#decision-error")).to_have_text(
        "This task was already decided by you (in another window or tab): Approved, reason: “OK from tab 1”. Your decision was not recorded.")
    expect(second.locator("#record-decision")).to_have_count(0)  # the task is done: nothing left to decide here
    shot(second, "operator-07-already-decided")
    second.goto(f"{base_url}/operator?role=registrar")
    expect(second.locator(f'a.task[data-file="{file_id}"]')).to_be_visible()  # the approval stands: the registrar has it
