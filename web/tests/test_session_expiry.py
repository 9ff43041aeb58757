"""A sign-in that ends while a form is open (sessions last as long as the 15-minute access token): the browser comes back
to the page the form was on, never to a POST-only address, and what was typed there is shown again after the new sign-in."""
import html
import re

import httpx
import pytest
from sqlmodel import Session, select

from kernel.db import make_engine
from web import sessions
from web.models import WebSession
from .helpers import PNG, enterprise_service_id, new_draft, sign_in, signed_in_browser
from .staff_helpers import operator_test_service, signed_in_staff, staff_login, submitted
from .test_designer import created, starter, unique_code
from .test_operator import open_task_of

RESTORED = "ທ່ານໄດ້ອອກຈາກລະບົບອັດຕະໂນມັດ"  # the notice that typed work is back in the form


@pytest.fixture(scope="module")
def service_id(registration_url):
    return enterprise_service_id(registration_url)


def signed_out(browser: httpx.Client) -> None:
    """The browser once the session's lifetime has passed: its cookie expires with it (max-age), as a browser drops it."""
    browser.cookies.delete("web_session")


def from_page(base_url: str, path: str) -> dict:
    """The headers a browser sends with a form posted from one of the portal's pages."""
    return {"Origin": base_url, "Referer": f"{base_url}{path}"}


def test_submit_after_the_session_ended_returns_to_the_review_page_after_sign_in(base_url, service_id):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    signed_out(browser)

    posted = browser.post(f"/drafts/{draft_id}/submit", data={"confirm": "yes"}, headers=from_page(base_url, f"/drafts/{draft_id}/review"))
    back = sign_in(browser, posted.headers["location"])

    assert posted.status_code == 303 and posted.headers["location"] == f"/auth/login?next=/drafts/{draft_id}/review"
    assert back.status_code == 303 and back.headers["location"] == f"/drafts/{draft_id}/review"
    assert browser.get(back.headers["location"]).status_code == 200


@pytest.mark.parametrize("post, page", [
    ("/drafts/d-1/submit", "/drafts/d-1"), ("/drafts/d-1/documents", "/drafts/d-1"), ("/drafts/d-1", "/drafts/d-1"),
    ("/services/s-1/apply", "/services"), ("/applications/f-1/messages", "/applications/f-1"),
    ("/designer/services/s-1/publish", "/designer/services/s-1"), ("/operator/tasks/t-1/decide", "/operator/tasks/t-1"),
])
def test_without_a_referer_a_post_returns_to_the_nearest_page_up_its_path(base_url, post, page):
    response = httpx.post(f"{base_url}{post}")

    assert response.status_code == 303
    assert response.headers["location"].endswith(f"?next={page}")


def test_a_referer_from_another_site_is_not_followed(base_url):
    response = httpx.post(f"{base_url}/drafts/d-1/submit", headers={"Referer": "https://evil.example/applications"})

    assert response.headers["location"] == "/auth/login?next=/drafts/d-1"


def test_wizard_answers_posted_after_the_session_ended_come_back_once_after_sign_in(base_url, service_id):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    signed_out(browser)

    posted = browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Kept Across Sign-in Co", "action": "save"},
                          headers=from_page(base_url, f"/drafts/{draft_id}"))
    back = sign_in(browser, posted.headers["location"])
    page = browser.get(back.headers["location"]).text
    again = browser.get(f"/drafts/{draft_id}").text

    assert back.headers["location"] == f"/drafts/{draft_id}"
    assert 'value="Kept Across Sign-in Co"' in page and RESTORED in page
    assert "Kept Across Sign-in Co" not in again and RESTORED not in again  # shown once; saving it was the citizen's choice


def test_answers_posted_with_an_upload_after_the_session_ended_come_back(base_url, service_id):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    signed_out(browser)

    posted = browser.post(f"/drafts/{draft_id}/documents", data={"owner_name": "ສົມພອນ ພົນເມືອງ", "document_type": "owner_id_card"},
                          files={"file.owner_id_card": ("id.png", PNG, "image/png")}, headers=from_page(base_url, f"/drafts/{draft_id}"))
    page = browser.get(sign_in(browser, posted.headers["location"]).headers["location"]).text

    assert 'value="ສົມພອນ ພົນເມືອງ"' in page and RESTORED in page
    assert "uploaded-file" not in page  # a file cannot be kept: the citizen chooses it again


def test_a_form_posted_from_another_site_is_not_kept(base_url, service_id):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    signed_out(browser)

    posted = browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Planted By Another Site", "action": "save"},
                          headers={"Origin": "https://evil.example"})
    page = browser.get(sign_in(browser, posted.headers["location"]).headers["location"]).text

    assert "Planted By Another Site" not in page and RESTORED not in page


def test_a_token_the_building_blocks_refuse_signs_in_again_keeping_the_form(base_url, service_id, settings):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    engine = make_engine(settings)
    with Session(engine) as session:  # the session row is still current, but its access token no longer passes
        row = session.exec(select(WebSession).where(WebSession.cookie_hash == sessions._hash(browser.cookies.get("web_session")))).one()
        row.access_token = "no-longer-valid"
        session.add(row)
        session.commit()
    engine.dispose()

    posted = browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Kept After A Refused Token", "action": "save"},
                          headers=from_page(base_url, f"/drafts/{draft_id}"))
    page = browser.get(sign_in(browser, posted.headers["location"]).headers["location"]).text

    assert posted.status_code == 303 and posted.headers["location"] == f"/auth/login?next=/drafts/{draft_id}"
    assert 'value="Kept After A Refused Token"' in page


def test_designer_edits_saved_after_the_session_ended_come_back_after_sign_in(base_url):
    designer = signed_in_staff(base_url, "designer")
    service_id = created(designer, (code := unique_code()))
    signed_out(designer)
    edited = starter(code, name={"en": "Edits kept across sign-in", "lo": "ການແກ້ໄຂທີ່ເກັບໄວ້"})

    posted = designer.post(f"/designer/services/{service_id}", data={"document": edited},
                           headers=from_page(base_url, f"/designer/services/{service_id}"))
    back = staff_login(designer, "designer", next_path=f"/designer/services/{service_id}")
    page = designer.get(back.headers["location"]).text

    assert posted.status_code == 303 and posted.headers["location"] == f"/staff/sign-in?next=/designer/services/{service_id}"
    assert back.headers["location"] == f"/designer/services/{service_id}"
    text = html.unescape(re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert text == edited and RESTORED in page


@pytest.fixture(scope="module")
def operator_service_id(registration_api):
    return operator_test_service(registration_api)


def textarea(page: str, element_id: str) -> str:
    return html.unescape(re.search(rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def an_operator_back_on_a_task_after_posting(base_url, service_id, post: str, data: dict) -> tuple[httpx.Client, str, str, str]:
    """An operator whose session ends on a task page, who posts there (`post`: decide or messages), then signs in again:
    the client, the task, the task page after the sign-in and the same page on the next visit."""
    file_id = submitted(signed_in_browser(base_url), service_id)
    operator = signed_in_staff(base_url, "operator")
    task_id = open_task_of(operator, file_id)
    signed_out(operator)

    posted = operator.post(f"/operator/tasks/{task_id}/{post}", data=data, headers=from_page(base_url, f"/operator/tasks/{task_id}"))
    back = staff_login(operator, "operator", next_path=f"/operator/tasks/{task_id}")
    page = operator.get(back.headers["location"]).text
    again = operator.get(f"/operator/tasks/{task_id}").text

    assert posted.status_code == 303 and posted.headers["location"] == f"/staff/sign-in?next=/operator/tasks/{task_id}"
    assert back.headers["location"] == f"/operator/tasks/{task_id}"
    return operator, file_id, page, again


def test_an_operators_decision_posted_after_the_session_ended_comes_back_once_after_sign_in(base_url, operator_service_id):
    reason = "ຊື່ບໍ່ກົງກັບສັນຍາເຊົ່າ <check> the lease & ID"
    operator, file_id, page, again = an_operator_back_on_a_task_after_posting(
        base_url, operator_service_id, "decide", {"decision": "send_back", "reason": reason, "fields_to_fix": "full_name"})

    assert textarea(page, "reason") == reason and RESTORED in page
    assert 'id="decision-send_back" checked' in page and 'id="fix-full_name" checked' in page
    assert textarea(again, "reason") == "" and RESTORED not in again  # shown once
    assert " checked" not in again
    assert open_task_of(operator, file_id)  # nothing was decided: the operator checks it and records it again


def test_an_operators_reply_posted_after_the_session_ended_comes_back_once_after_sign_in(base_url, operator_service_id):
    reply = "ກະລຸນາສົ່ງຫຼັກຖານທີ່ອ່ານໄດ້ <again> & soon"
    _, _, page, again = an_operator_back_on_a_task_after_posting(base_url, operator_service_id, "messages", {"text": reply})

    assert textarea(page, "message-text") == reply and RESTORED in page
    assert "soon" not in page.split('id="message-thread"')[1].split("</ol>")[0]  # kept, not sent
    assert textarea(again, "message-text") == "" and RESTORED not in again
    assert textarea(page, "reason") == ""  # a reply fills no decision


def test_a_decision_kept_for_one_task_is_not_shown_on_another(base_url, operator_service_id):
    citizen = signed_in_browser(base_url)
    first, second = submitted(citizen, operator_service_id), submitted(citizen, operator_service_id)
    operator = signed_in_staff(base_url, "operator")
    first_task, second_task = open_task_of(operator, first), open_task_of(operator, second)
    signed_out(operator)

    operator.post(f"/operator/tasks/{first_task}/decide", data={"decision": "reject", "reason": "Kept for the first task"},
                  headers=from_page(base_url, f"/operator/tasks/{first_task}"))
    staff_login(operator, "operator", next_path=f"/operator/tasks/{first_task}")
    other = operator.get(f"/operator/tasks/{second_task}").text
    own = operator.get(f"/operator/tasks/{first_task}").text

    assert "Kept for the first task" not in other and RESTORED not in other
    assert textarea(own, "reason") == "Kept for the first task" and 'id="decision-reject" checked' in own


def test_a_kept_form_without_answers_changes_no_answer(base_url, service_id):
    browser = signed_in_browser(base_url)
    draft_id = new_draft(browser, service_id)
    browser.post(f"/drafts/{draft_id}", data={"company_name_en": "Saved Before Co", "action": "save"})
    signed_out(browser)

    posted = browser.post(f"/drafts/{draft_id}/consent", data={"agree": "yes"}, headers=from_page(base_url, f"/drafts/{draft_id}"))
    page = browser.get(sign_in(browser, posted.headers["location"]).headers["location"]).text

    assert 'value="Saved Before Co"' in page and RESTORED not in page


@pytest.mark.parametrize("page", ["/operator", "/designer/new", "/audit"])
def test_staff_pages_send_a_signed_out_browser_to_the_staff_sign_in(base_url, page):
    response = httpx.get(f"{base_url}{page}")

    assert response.status_code == 303 and response.headers["location"] == f"/staff/sign-in?next={page}"
