"""Messages between the applicant and the operators of a file; nobody else reads or writes them."""
import pytest

from .api_client import unique


@pytest.fixture(scope="module")
def file(api):
    return api.submitted_file()


def test_applicant_and_operator_exchange_messages_in_order(api, file):
    applicant, reviewer, file_id = file

    api.call("POST", f"/applications/{file_id}/messages", expect=201, headers=applicant, json={"text": "ສະບາຍດີ, is the lease enough?"})
    api.call("POST", f"/applications/{file_id}/messages", expect=201, headers=reviewer, json={"text": "Yes, it is."})
    as_applicant = api.call("GET", f"/applications/{file_id}/messages", expect=200, headers=applicant).json()
    as_reviewer = api.call("GET", f"/applications/{file_id}/messages", expect=200, headers=reviewer).json()

    assert [(m["authorKind"], m["text"]) for m in as_applicant[-2:]] == [("applicant", "ສະບາຍດີ, is the lease enough?"), ("operator", "Yes, it is.")]
    assert as_applicant[-1]["roleId"] == "reviewer" and "authorId" not in as_applicant[-1]  # staff ids stay with staff
    assert as_reviewer[-1]["authorId"] and len(as_reviewer) == len(as_applicant)


@pytest.mark.parametrize("body", [{}, {"text": "   "}, {"text": "x" * 4001}, {"text": 5}])
def test_a_message_needs_a_text(api, file, body):
    applicant, _, file_id = file

    refused = api.call("POST", f"/applications/{file_id}/messages", expect=400, headers=applicant, json=body).json()

    assert refused["details"] == [{"field": "text", "reason": "required: 1 to 4000 characters"}]


def test_another_applicant_neither_reads_nor_writes(api, file):
    _, _, file_id = file
    stranger = api.token(sub=unique("citizen"))
    other_operator = api.token(sub=unique("op"), roles=["some-other-service-role"])

    api.call("GET", f"/applications/{file_id}/messages", expect=404, headers=stranger)
    api.call("POST", f"/applications/{file_id}/messages", expect=404, headers=stranger, json={"text": "hi"})
    api.call("GET", f"/applications/{file_id}/messages", expect=404, headers=other_operator)
    api.call("GET", f"/applications/{unique('nofile')}/messages", expect=404, headers=stranger)
    api.call("GET", f"/applications/{file_id}/messages", expect=401)
