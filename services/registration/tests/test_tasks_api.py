"""Operators' tasks: claim, completion by the claimant only, and repeatable completion."""
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .api_client import IM, enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def service(api):
    document = enterprise_document()
    return {"id": api.publish(document)["id"], "document": document}


def reviewer(api, service) -> dict:
    return api.token(sub=unique("operator"), roles=service["document"]["roles"][0]["operator_roles"], name="Ingmar Vali")


def test_claimed_task_is_reserved_for_its_claimant(api, service):
    first, second = reviewer(api, service), reviewer(api, service)
    file_id = api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()["fileId"]
    task_id = api.open_task(first, file_id)["taskId"]

    claimed = api.call("POST", f"/tasks/{task_id}/claim", expect=200, headers=first).json()
    api.call("POST", f"/tasks/{task_id}/claim", expect=409, headers=second)
    api.decide(second, task_id, "approve", "Looks fine", expect=409)

    assert claimed["assigneeId"] != ""
    assert api.tasks(first, assigneeId=claimed["assigneeId"])[0]["taskId"] == task_id


def test_completing_a_completed_task_answers_with_the_same_decision(api, service):
    operator = reviewer(api, service)
    file_id = api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()["fileId"]
    task_id = api.open_task(operator, file_id)["taskId"]

    first = api.decide(operator, task_id, "approve", "Documents in order").json()
    again = api.decide(operator, task_id, "reject", "Changed my mind").json()

    assert first == again and first["status"]["code"] == "APPROVED"
    assert first["variables"]["decision"]["data"] == {"decision": "approve", "reason": "Documents in order"}
    assert len([t for t in api.tasks(operator, fileId=file_id)]) == 1  # the next one is the registrar's


def test_task_list_filters_and_pages(api, service):
    operator = reviewer(api, service)
    file_ids = [api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()["fileId"] for _ in range(3)]
    main_task = api.file(api.token(roles=["admin"]), file_ids[0]).json()

    by_main_task = api.tasks(operator, mainTaskId=api.open_task(operator, file_ids[0])["mainTaskId"])
    page = api.tasks(operator, firstResult=0, maxResult=2, sortBy="created", sortOrder="desc")
    unknown = api.tasks(operator, fileId="n0t-ex1st1ng")

    assert main_task["fileId"] == file_ids[0]
    assert [t["fileId"] for t in by_main_task] == [file_ids[0]]
    assert [t["fileId"] for t in page] == file_ids[:0:-1]
    assert unknown == []


def test_operator_updates_processing_data(api, service):
    operator = reviewer(api, service)
    applicant = api.token(sub=unique("citizen"))
    file_id = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]

    updated = api.call("PUT", f"/applications/{file_id}", expect=200, headers={**operator, **IM},
                       json={"applicantId": "x", "formData": {"data": {"site_visit": "done"}}}).json()

    assert updated["processingData"] == {"site_visit": "done"}
    assert api.file(applicant, file_id).json()["applicationData"]["formData"]["data"] == enterprise_data()


def test_applicant_cannot_correct_a_pending_file(api, service):
    applicant = api.token(sub=unique("citizen"))
    file_id = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]

    api.call("PUT", f"/applications/{file_id}", expect=409, headers={**applicant, **IM}, json={"formData": {"data": enterprise_data(district="Xaythany")}})

    assert api.file(applicant, file_id).json()["applicationData"]["formData"]["data"]["district"] == "Sisattanak"


def test_task_names_follow_the_operators_language(api, service):
    operator = reviewer(api, service)
    file_id = api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()["fileId"]
    task_id = api.open_task(operator, file_id)["taskId"]

    lao = api.tasks({**operator, "Accept-Language": "lo"}, fileId=file_id)[0]
    english = api.tasks({**operator, "Accept-Language": "en"}, fileId=file_id)[0]
    one = api.call("GET", f"/tasks/{task_id}", expect=200, headers={**operator, **IM, "Accept-Language": "lo"}).json()

    assert lao["name"] == "ການຈົດທະບຽນວິສາຫະກິດ: ຜູ້ກວດກາເອກະສານ"
    assert english["name"] == "Enterprise registration: Document reviewer"
    assert one["taskName"] == lao["name"]


def test_concurrent_completions_of_one_task_decide_once(api, service):
    """Two completions racing (here approve and reject by the same operator) must not both decide: the task row is locked."""
    operator = reviewer(api, service)
    registrar = api.token(sub=unique("registrar"), roles=service["document"]["roles"][1]["operator_roles"])
    files = [api.submit(service["id"], api.token(sub=unique("citizen")), enterprise_data()).json()["fileId"] for _ in range(6)]
    tasks = [api.open_task(operator, file_id)["taskId"] for file_id in files]

    def complete(task_id: str, decision: str, start: threading.Barrier) -> int:
        with httpx.Client(base_url=api.base_url, timeout=30) as http:
            start.wait()
            return http.post(f"/tasks/{task_id}/complete", headers=operator,
                             json={"data": {"decision": decision, "reason": "racing"}}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for task_id in tasks:
            start = threading.Barrier(2)
            statuses = list(pool.map(complete, [task_id, task_id], ["approve", "reject"], [start, start]))
            assert 200 in statuses and set(statuses) <= {200, 409}, statuses

    for file_id in files:
        decided = [e["action"] for e in api.call("GET", f"/applications/{file_id}/audit", expect=200, headers=operator).json()["entries"]]
        registrar_tasks = api.tasks(registrar, fileId=file_id)
        assert decided in (["submitted", "approve"], ["submitted", "reject"]), decided
        assert len(registrar_tasks) == (1 if decided[-1] == "approve" else 0)
