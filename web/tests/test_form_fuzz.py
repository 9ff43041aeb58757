"""Every form the portal accepts (POST), fed generated garbage by signed-in users over the real building blocks: the
answer is a page or a redirect, never a server error. The forms come from the app's routes, so new ones are covered;
the portal answers 502 only when a building block fails, which here would be a bug behind it."""
import re
from urllib.parse import quote

import httpx
import pytest
import yaml
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from web.app import create_app
from .helpers import VALID_ENTERPRISE, consent_record_ids, enterprise_service_id, new_draft, signed_in_browser
from .staff_helpers import signed_in_staff

EXAMPLES_PER_FORM = 12
NOT_FUZZED = {"/auth/logout"}  # ends the browser's session, which every other form needs
FIELD_NAMES = [*VALID_ENTERPRISE, "action", "confirm", "agree", "document_type", "document", "decision", "reason", "fields_to_fix"]
# Values that reach deeper than random text: the words the forms look for, and YAML shaped like an e-service design.
WORDS = st.sampled_from(["yes", "save", "review", "approve", "reject", "send_back", "VTE", "retail", "", " ", "\x00", "ລາວ" * 300])
DESIGN_KEYS = st.sampled_from(["code", "name", "eforms", "roles", "steps", "documents", "registrations", "schema", "fields", "id"])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(DESIGN_KEYS | st.text(max_size=8), inner, max_size=4),
                       max_leaves=12)
VALUES = st.one_of(st.text(max_size=300), WORDS, JSONISH.map(lambda value: yaml.safe_dump(value, allow_unicode=True)))
FORMS = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=20), VALUES, max_size=8)


def post_forms(settings) -> list[str]:
    app = create_app(settings)  # only to read its routes; the served app is the base_url fixture's
    return sorted({context.path for context in iter_route_contexts(app.routes) if "POST" in (context.methods or ())} - NOT_FUZZED)


@pytest.fixture(scope="module")
def users(base_url, identity_url, registration_url):
    citizen = signed_in_browser(base_url, new_person_at=identity_url)
    service_id = enterprise_service_id(registration_url)
    draft_id = new_draft(citizen, service_id)  # with the service's consent given, so a record exists too
    # A draft is an application file not yet submitted: the application forms get a real file id of the citizen's.
    known = {"service_id": service_id, "draft_id": draft_id, "file_id": draft_id, "record_id": (consent_record_ids(citizen) or ["none"])[0]}
    browsers = {"citizen": citizen, "designer": signed_in_staff(base_url, "designer"), "operator": signed_in_staff(base_url, "operator")}
    yield browsers, known
    for browser in browsers.values():
        browser.close()


def browser_for(path: str, browsers: dict) -> httpx.Client:
    if path.startswith("/designer"):
        return browsers["designer"]
    if path.startswith("/operator"):
        return browsers["operator"]
    return browsers["citizen"]


def test_no_form_answers_garbage_with_a_server_error(settings, users):
    browsers, known = users
    failures = []
    for path in post_forms(settings):
        browser = browser_for(path, browsers)
        names = re.findall(r"\{([^}]+)\}", path)

        @hypothesis_settings(max_examples=EXAMPLES_PER_FORM, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(form=FORMS, ids=st.fixed_dictionaries({name: st.sampled_from([known.get(name, "none")]) | st.text(min_size=1, max_size=40)
                                                      for name in names}),
               upload=st.binary(max_size=2048), raw=st.booleans())
        def exercise(form, ids, upload, raw):
            url = re.sub(r"\{([^}]+)\}", lambda m: quote(ids[m.group(1)], safe=""), path)
            if path.endswith("/documents"):
                response = browser.post(url, data={k: v for k, v in form.items() if k == "document_type"}, files={"file": ("x.bin", upload)})
            elif raw:  # some forms read the body itself (the designer's live validation)
                response = browser.post(url, content=str(form.get("document", "")).encode("utf-8", "surrogatepass"))
            else:
                response = browser.post(url, data=form)
            assert response.status_code < 500, f"{url}: {response.status_code}"

        try:
            exercise()
        except Exception as exc:  # every form's first failure, not just the first form's
            failures.append(f"POST {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")

    assert failures == [], "\n".join(failures)
