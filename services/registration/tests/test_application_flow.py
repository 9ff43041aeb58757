"""An e-service from design to registry: publish, submit, send back, correct, approve, count."""
import pytest

from .api_client import IM, enterprise_data, enterprise_document, unique


@pytest.fixture
def service(api):
    document = enterprise_document()
    published = api.publish(document)
    return {"id": published["id"], "document": document}


def operator(api, service, index: int) -> dict:
    return api.token(sub=unique("operator"), roles=service["document"]["roles"][index]["operator_roles"], name=unique("Officer"))


def test_published_service_is_in_the_catalogue_with_its_eform(api, service):
    listed = api.call("GET", "/services", expect=200, params={"name": "Enterprise registration"}).json()
    single = api.call("GET", f"/services/{service['id']}", expect=200, headers=IM).json()
    eforms = api.call("GET", f"/services/{service['id']}/eForms", expect=200).json()

    assert service["id"] in [s["id"] for s in listed]
    assert single[0]["id"] == service["id"] and single[0]["type"] == "Public"
    assert [e["eFormId"] for e in eforms] == ["ler-application"] and "schema" not in eforms[0]


@pytest.mark.parametrize("body", ["json", "form", "multipart"])
def test_applicant_submits_in_each_body_encoding(api, service, body):
    applicant = api.token(sub=unique("citizen"))

    if body == "json":
        response = api.submit(service["id"], applicant, enterprise_data())
    else:
        response = api.submit_form(service["id"], applicant, enterprise_data(), multipart=body == "multipart")

    file = response.json()
    assert file["status"]["code"] == "PENDING" and file["serviceId"] == service["id"]
    assert file["applicationData"]["formData"]["data"] == enterprise_data()
    assert file["applicationData"]["applicantId"] != "ignored"  # the token's subject, not the body's claim
    assert api.open_task(operator(api, service, 0), file["fileId"])["roleId"] == "reviewer"


def test_send_back_correct_and_approve_ends_in_the_registry(api, service):
    applicant = api.token(sub=unique("citizen"))
    reviewer, registrar = operator(api, service, 0), operator(api, service, 1)
    file_id = api.submit(service["id"], applicant, enterprise_data(district="Xaysetha")).json()["fileId"]

    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "send_back", "The district does not match the lease")
    sent_back = api.file(applicant, file_id).json()
    corrected = api.call("PUT", f"/applications/{file_id}", expect=200, headers={**applicant, **IM},
                         json={"applicantId": "x", "formData": {"data": enterprise_data(district="Sisattanak"), "eFormId": "ler-application"}}).json()
    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "approve", "Documents in order")
    api.decide(registrar, api.open_task(registrar, file_id)["taskId"], "approve", "Registered")
    final = api.file(applicant, file_id).json()

    assert sent_back["status"]["code"] == "SENDBACK"
    assert [(h["action"], h["reason"]) for h in sent_back["history"]] == [("submitted", ""), ("send_back", "The district does not match the lease")]
    assert corrected["status"]["code"] == "PENDING"
    assert final["status"]["code"] == "APPROVED" and final["ended"] is True
    assert final["registrationNumber"].startswith(f"{service['document']['code']}-")
    assert final["registrationNumber"].endswith("-000001")
    record = api.call("GET", f"/registry/records/{final['registrationNumber']}", expect=200,
                      headers=api.token(scopes=["registry.read"])).json()
    assert record["fileId"] == file_id and record["data"]["district"] == "Sisattanak"


def test_registry_needs_registry_read(api):
    api.call("GET", "/registry/records", expect=403, headers=api.token(roles=["citizen"]))
    api.call("GET", "/registry/records", expect=401)


def test_rejection_ends_the_file_without_a_registry_record(api, service):
    applicant = api.token(sub=unique("citizen"))
    reviewer = operator(api, service, 0)
    file_id = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]

    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "reject", "Not an enterprise")

    final = api.file(applicant, file_id).json()
    assert final["status"]["code"] == "REJECTED" and final["ended"] is True and "registrationNumber" not in final
    assert api.call("GET", "/registry/records", expect=200, headers=api.token(scopes=["registry.read"]),
                    params={"serviceId": service["id"]}).json() == []


def test_statistics_count_real_decisions_of_the_registration(api):
    registration = unique("REG").upper()
    document = enterprise_document()
    document["registrations"][0]["code"] = registration
    service = {"id": api.publish(document)["id"], "document": document}
    applicant, reviewer, registrar = api.token(sub=unique("citizen")), operator(api, service, 0), operator(api, service, 1)
    first = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]
    second = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]

    api.decide(reviewer, api.open_task(reviewer, first)["taskId"], "send_back", "Fix it")
    api.decide(reviewer, api.open_task(reviewer, second)["taskId"], "approve", "Fine")
    api.decide(registrar, api.open_task(registrar, second)["taskId"], "approve", "Fine")
    api.call("PUT", f"/applications/{first}", expect=200, headers={**applicant, **IM}, json={"formData": {"data": enterprise_data()}})
    api.decide(reviewer, api.open_task(reviewer, first)["taskId"], "reject", "No")

    response = api.call("GET", "/data/statistics/1.0", expect=200, headers={**IM, **api.token(roles=["auditor"])}, params={"registrationName": registration, "timeframe": "day"})
    stats = response.json()[0]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert (stats["processed"], stats["approved"], stats["sentBack"], stats["rejected"]) == (4, 2, 1, 1)
    assert stats["references"]["registrationName"] == registration and stats["references"]["timeframeDay"] is True
    by_role = api.call("GET", "/data/statistics", expect=200, headers={**IM, **api.token(roles=["auditor"])}, params={"registrationName": registration, "role": "Enterprise registrar"}).json()[0]
    assert (by_role["processed"], by_role["approved"]) == (1, 1)


def test_another_applicant_cannot_see_the_file(api, service):
    owner, stranger = api.token(sub=unique("citizen")), api.token(sub=unique("citizen"))
    file_id = api.submit(service["id"], owner, enterprise_data()).json()["fileId"]

    api.file(stranger, file_id, expect=404)
    listed = api.call("GET", "/applications", expect=200, headers={**stranger, **IM}).json()
    api.call("PUT", f"/applications/{file_id}", expect=404, headers={**stranger, **IM}, json={"formData": {"data": {}}})

    assert listed == []
    assert api.file(owner, file_id).json()["applicationData"]["formData"]["data"] == enterprise_data()


def test_operator_sees_only_the_fields_their_role_may_see(api, service):
    applicant = api.token(sub=unique("citizen"))
    reviewer, registrar = operator(api, service, 0), operator(api, service, 1)
    file_id = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]

    seen_by_reviewer = api.file(reviewer, file_id).json()["applicationData"]["formData"]["data"]
    task = api.call("GET", f"/tasks/{api.open_task(reviewer, file_id)['taskId']}", expect=200, headers=reviewer).json()

    assert "owner_id_number" not in seen_by_reviewer and seen_by_reviewer["owner_name"] == "Somphone Keomany"
    assert "owner_id_number" not in task["formVariables"]["applicationForm"]["data"]
    assert api.tasks(registrar, fileId=file_id) == []  # not the registrar's turn yet


def test_operators_list_only_their_roles_tasks_and_files(api, service):
    applicant = api.token(sub=unique("citizen"))
    file_id = api.submit(service["id"], applicant, enterprise_data()).json()["fileId"]
    outsider = api.token(sub=unique("operator"), roles=["enterprise_reviewer"])  # a role of another service's design

    assert api.tasks(outsider, fileId=file_id) == []
    assert [f["fileId"] for f in api.call("GET", "/applications", expect=200, headers={**operator(api, service, 0), **IM},
                                          params={"serviceId": service["id"]}).json()] == [file_id]
    api.file(outsider, file_id, expect=404)


def test_concurrent_approvals_get_distinct_consecutive_registration_numbers(api, service):
    from concurrent.futures import ThreadPoolExecutor

    applicant = api.token(sub=unique("citizen"))
    reviewer, registrar = operator(api, service, 0), operator(api, service, 1)
    file_ids = [api.submit(service["id"], applicant, enterprise_data()).json()["fileId"] for _ in range(6)]
    for file_id in file_ids:
        api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "approve", "ok")
    tasks = [api.open_task(registrar, file_id)["taskId"] for file_id in file_ids]

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda task_id: api.decide(registrar, task_id, "approve", "Registered"), tasks))

    numbers = sorted(api.file(applicant, file_id).json()["registrationNumber"] for file_id in file_ids)
    assert [n.rsplit("-", 1)[1] for n in numbers] == [f"{i:06d}" for i in range(1, 7)]
