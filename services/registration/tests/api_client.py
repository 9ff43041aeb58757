"""API helpers for the tests: tokens per persona, and calls that assert the status they expect."""
import copy
import json
import uuid
from pathlib import Path

import httpx
import yaml

IM = {"Information-Mediator-Client": "eGovStack/GOV/90000009/eregistrations-dev"}
FIXTURE_DATA = Path(__file__).parents[1] / "registration" / "fixture_data"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def enterprise_document(*, with_consent: bool = False, **overrides) -> dict:
    """The demo enterprise service under a fresh code and operator roles, so tests never share files or tasks.

    Without its require_consent step unless asked: that step needs a Consent BB behind a gateway (test_consent_step.py).
    """
    document = yaml.safe_load((FIXTURE_DATA / "lao_enterprise_registration.yaml").read_text(encoding="utf-8"))
    if not with_consent:
        document["steps"] = [step for step in document["steps"] if step["type"] != "require_consent"]
    tag = uuid.uuid4().hex[:6]
    document["code"] = unique_code("LER")
    document["roles"][0]["operator_roles"] = [f"reviewer-{tag}"]
    document["roles"][1]["operator_roles"] = [f"registrar-{tag}"]
    document["documents"][0]["required"] = False
    document.update(overrides)
    return document


def sct_document() -> dict:
    """The demo social cash transfer service as bundled."""
    return yaml.safe_load((FIXTURE_DATA / "social_cash_transfer.yaml").read_text(encoding="utf-8"))


def cash_transfer_document() -> dict:
    """The demo cash transfer service under a fresh code, without the consent step (test_consent_step.py covers it)."""
    document = sct_document()
    document["code"] = unique_code("SCT")
    document["steps"] = [s for s in document["steps"] if s["type"] != "require_consent"]
    return document


HOUSEHOLD = {"head_of_household": "Noy", "id_number": "LA-998877", "province": "SVK", "district": "Kaysone", "household_size": 5,
             "monthly_income_lak": 900_000, "children_under_5": 1, "pregnant_member": False, "member_with_disability": False}


def enterprise_data(**overrides) -> dict:
    data = {"company_name_lo": "ບໍລິສັດ ນ້ຳໃສ ຈຳກັດ", "company_name_en": "Nam Sai Co., Ltd", "activity": "retail",
            "province": "VTE", "district": "Sisattanak", "registered_capital_lak": 50000000,
            "owner_name": "Somphone Keomany", "owner_id_number": "LA-123456", "owner_phone": "+856 20 5555 1234"}
    data.update(overrides)
    return data


class Api:
    def __init__(self, base_url: str, issuer):
        self.base_url, self.issuer = base_url, issuer
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def token(self, sub: str | None = None, roles=(), scopes=(), **claims) -> dict:
        token = self.issuer.token(sub=sub or unique("user"), audience="registration", roles=list(roles), scopes=list(scopes), **claims)
        return {"Authorization": f"Bearer {token}"}

    def designer(self) -> dict:
        return self.token(sub=unique("designer"), roles=["designer"])

    def call(self, method: str, path: str, *, expect: int, headers=None, **kwargs) -> httpx.Response:
        response = self.http.request(method, path, headers=headers or {}, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def publish(self, document: dict) -> dict:
        headers = self.designer()
        created = self.call("POST", "/designer/services", expect=201, headers=headers, json=document).json()
        return self.call("POST", f"/designer/services/{created['id']}/publish", expect=200, headers=headers).json()

    def submit(self, service_id: str, headers: dict, data: dict, *, eform_id: str = "ler-application", expect: int = 200, **body) -> httpx.Response:
        payload = {"applicantId": "ignored", "applicationName": "Nam Sai", "formData": {"data": data, "eFormId": eform_id}, **body}
        return self.call("POST", f"/services/{service_id}/applications", expect=expect, headers={**headers, **IM}, json=payload)

    def submitted_file(self, document: dict | None = None) -> tuple[dict, dict, str]:
        """A new citizen's enterprise application to a newly published service: (applicant, first-step reviewer, file id)."""
        document = document or enterprise_document()
        service_id = self.publish(document)["id"]
        applicant = self.token(sub=unique("citizen"))
        reviewer = self.token(sub=unique("op"), roles=document["roles"][0]["operator_roles"])
        return applicant, reviewer, self.submit(service_id, applicant, enterprise_data()).json()["fileId"]

    def submit_form(self, service_id: str, headers: dict, data: dict, *, multipart: bool = False, expect: int = 200) -> httpx.Response:
        fields = {"applicantId": "ignored", "applicationName": "Nam Sai", "formData": json.dumps({"data": data, "eFormId": "ler-application"})}
        if multipart:
            return self.call("POST", f"/services/{service_id}/applications", expect=expect, headers={**headers, **IM},
                             files={k: (None, v) for k, v in fields.items()})
        return self.call("POST", f"/services/{service_id}/applications", expect=expect, headers={**headers, **IM}, data=fields)

    def submit_household(self, service_id: str, headers: dict, expect: int = 200, **overrides) -> httpx.Response:
        return self.submit(service_id, headers, {**HOUSEHOLD, **overrides}, eform_id="sct-household", expect=expect)

    def tasks(self, headers: dict, **params) -> list[dict]:
        return self.call("GET", "/tasks", expect=200, headers={**headers, **IM}, params=params).json()

    def open_task(self, headers: dict, file_id: str) -> dict:
        tasks = [t for t in self.tasks(headers, fileId=file_id) if t["status"]["code"] == "PENDING"]
        assert len(tasks) == 1, tasks
        return tasks[0]

    def decide(self, headers: dict, task_id: str, decision: str, reason: str = "checked", expect: int = 200, **data) -> httpx.Response:
        return self.call("POST", f"/tasks/{task_id}/complete", expect=expect, headers=headers,
                         json={"data": {"decision": decision, "reason": reason, **data}})

    def file(self, headers: dict, file_id: str, expect: int = 200) -> httpx.Response:
        return self.call("GET", f"/applications/{file_id}", expect=expect, headers={**headers, **IM})


def copy_of(document: dict) -> dict:
    return copy.deepcopy(document)
