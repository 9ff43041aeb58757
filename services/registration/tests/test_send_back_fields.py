"""Send-back with the fields to fix marked: the applicant sees which, a correction clears them, bad marks change nothing."""
import pytest

from .api_client import IM, enterprise_data


@pytest.fixture
def submitted(api):
    return api.submitted_file()


def test_applicant_sees_the_marked_fields_and_a_correction_clears_them(api, submitted):
    applicant, reviewer, file_id = submitted
    task_id = api.open_task(reviewer, file_id)["taskId"]

    api.decide(reviewer, task_id, "send_back", "Two fields need fixing",
               fieldsToFix=[{"field": "district", "reason": "does not match the lease"}, "owner_name"])
    sent_back = api.file(applicant, file_id).json()
    corrected = api.call("PUT", f"/applications/{file_id}", expect=200, headers={**applicant, **IM},
                         json={"formData": {"data": enterprise_data(district="Xaysetha"), "eFormId": "ler-application"}}).json()

    assert sent_back["fieldsToFix"] == [{"field": "district", "reason": "does not match the lease"}, {"field": "owner_name", "reason": ""}]
    assert corrected["fieldsToFix"] == [] and corrected["status"]["code"] == "PENDING"


@pytest.mark.parametrize("marked", [["no_such_field"], ["owner_id_number"], "district", [{"field": 3}]])
def test_marks_outside_the_form_or_the_role_view_are_refused_and_nothing_changes(api, submitted, marked):
    # owner_id_number is sensitive_personal: the reviewer does not see it, so cannot mark it.
    applicant, reviewer, file_id = submitted
    task_id = api.open_task(reviewer, file_id)["taskId"]

    refused = api.decide(reviewer, task_id, "send_back", "fix it", expect=400, fieldsToFix=marked).json()

    assert refused["code"] == "invalid_fields" and refused["details"][0]["field"].startswith("data.fieldsToFix")
    assert api.open_task(reviewer, file_id)["taskId"] == task_id  # still open
    assert api.file(applicant, file_id).json()["status"]["code"] == "PENDING"


def test_only_a_send_back_marks_fields(api, submitted):
    applicant, reviewer, file_id = submitted

    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "approve", "ok", expect=400, fieldsToFix=["district"])
