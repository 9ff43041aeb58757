"""Bad input gets a 4xx in the spec's error shape and changes nothing."""
import pytest

from .api_client import IM, enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def service(api):
    document = enterprise_document()
    return {"id": api.publish(document)["id"], "document": document}


def files_of(api, headers) -> list[str]:
    return [f["fileId"] for f in api.call("GET", "/applications", expect=200, headers={**headers, **IM}).json()]


def test_schema_failure_names_each_field_and_stores_nothing(api, service):
    applicant = api.token(sub=unique("citizen"))
    data = enterprise_data(registered_capital_lak="lots", activity="smuggling")
    del data["owner_id_number"]

    refused = api.submit(service["id"], applicant, data, expect=400).json()

    assert set(refused) >= {"traceId", "code", "message", "localizedMessage"}
    assert {d["field"]: d["reason"] for d in refused["details"]} == {
        "activity": "must be one of agriculture, manufacturing, construction, retail, tourism, transport, ict, services",
        "owner_id_number": "required", "registered_capital_lak": "must be of type integer"}
    assert files_of(api, applicant) == []


@pytest.mark.parametrize("path", ["/services/no-such-service", "/services/no-such-service/eForms", "/eForms/no-such-form"])
def test_unknown_catalogue_ids_are_404_as_json(api, path):
    response = api.call("GET", path, expect=404, headers=IM)

    assert response.json()["code"].endswith("not_found") and "application/json" in response.headers["content-type"]


def test_unknown_ids_are_404(api, service):
    applicant = api.token(sub=unique("citizen"), roles=["admin"])

    api.submit("no-such-service", applicant, enterprise_data(), expect=404)
    api.file(applicant, "no-such-file", expect=404)
    api.call("PUT", "/applications/no-such-file", expect=404, headers={**applicant, **IM}, json={"formData": {"data": {}}})
    api.call("GET", "/tasks/no-such-task", expect=404, headers=applicant)
    api.call("POST", "/tasks/no-such-task/complete", expect=404, headers=applicant, json={"data": {}})
    api.call("GET", "/documents/no-such-document", expect=404, headers=applicant)


def test_a_path_cut_short_by_an_unencoded_hash_is_404_not_405(api):
    # GovStack's suite posts to /tasks/n0t-ex1st1ng-task#-1d/complete; the server only sees the part before '#'.
    assert api.call("POST", "/tasks/n0t-ex1st1ng-task", expect=404).json()["code"] == "not_found"


@pytest.mark.parametrize("body, content_type", [(b"{not json", "application/json"), (b"[1,2]", "application/json"),
                                                (b'{"formData": "{broken"}', "application/json"),
                                                (b"formData=%7Bbroken", "application/x-www-form-urlencoded")])
def test_malformed_submission_is_400(api, service, body, content_type):
    applicant = api.token(sub=unique("citizen"))

    refused = api.call("POST", f"/services/{service['id']}/applications", expect=400, content=body,
                       headers={**applicant, **IM, "Content-Type": content_type}).json()

    assert refused["code"] == "malformed_body"
    assert files_of(api, applicant) == []


@pytest.mark.parametrize("value", [None, "", "invalid_header", "eGovStack/GOV/90000009/"])
def test_missing_or_malformed_information_mediator_header_is_400(api, value):
    headers = api.token(roles=["auditor"]) if value is None else {"Information-Mediator-Client": value, **api.token(roles=["auditor"])}

    refused = api.call("GET", "/data/statistics/1.0", expect=400, headers=headers).json()

    assert refused["code"] == "invalid_information_mediator_client"


def test_applications_require_the_information_mediator_header(api, service):
    applicant = api.token(sub=unique("citizen"))

    api.call("GET", "/applications", expect=400, headers=applicant)
    api.call("POST", f"/services/{service['id']}/applications", expect=400, headers=applicant, json={})


def test_applications_require_a_token(api, service):
    api.call("GET", "/applications", expect=401, headers=IM)
    api.submit(service["id"], {}, enterprise_data(), expect=401)


def test_decision_outside_the_roles_choices_changes_nothing(api):
    document = enterprise_document()
    document["roles"][0]["decisions"] = {"approve": "registrar", "send_back": "applicant"}
    applicant, reviewer, file_id = api.submitted_file(document)
    task_id = api.open_task(reviewer, file_id)["taskId"]

    not_allowed = api.decide(reviewer, task_id, "reject", "No", expect=400).json()
    no_reason = api.decide(reviewer, task_id, "approve", "  ", expect=400).json()

    assert not_allowed["details"] == [{"field": "data.decision", "reason": "must be one of approve, send_back"}]
    assert no_reason["details"] == [{"field": "data.reason", "reason": "required"}]
    assert api.open_task(reviewer, file_id)["taskId"] == task_id
    assert api.file(applicant, file_id).json()["status"]["code"] == "PENDING"


def test_statistics_are_open_but_a_named_operators_counts_need_a_staff_role_or_scope(api):
    assert api.call("GET", "/data/statistics", expect=200, headers=IM).json()[0]["processed"] >= 0
    api.call("GET", "/data/statistics", expect=401, headers=IM, params={"operator": "operator-1"})
    api.call("GET", "/data/statistics", expect=403, headers={**IM, **api.token(roles=["citizen"])}, params={"operator": "operator-1"})
    api.call("GET", "/data/statistics", expect=200, headers={**IM, **api.token(roles=["auditor"])}, params={"operator": "operator-1"})


def test_bad_statistics_parameters_are_400(api):
    api.call("GET", "/data/statistics", expect=400, headers={**IM, **api.token(roles=["auditor"])}, params={"startDate": "yesterday"})
    api.call("GET", "/data/statistics", expect=400, headers={**IM, **api.token(roles=["auditor"])}, params={"timeframe": "decade"})


@pytest.mark.parametrize("params", [{"endDate": "9999-12-31"}, {"endDate": "0001-01-01", "timeframe": "year"},
                                    {"startDate": "0001-01-01", "endDate": "9999-12-31"}])
def test_statistics_windows_reaching_outside_the_calendar_are_400(api, params):
    refused = api.call("GET", "/data/statistics", expect=400, headers=IM, params=params).json()

    assert refused["code"] == "invalid_range"


def test_statistics_windows_at_the_calendars_edges_are_counted(api):
    counted = api.call("GET", "/data/statistics", expect=200, headers=IM, params={"startDate": "0001-01-01", "endDate": "9999-12-30"}).json()

    assert counted[0]["references"]["endDate"] == "9999-12-30" and counted[0]["processed"] >= 0


@pytest.mark.parametrize("path", ["/applications", "/tasks", "/registry/records"])
def test_a_paging_offset_past_any_list_is_400(api, path):
    staff = {**IM, **api.token(roles=["admin"])}

    refused = api.call("GET", path, expect=400, headers=staff, params={"firstResult": "99999999999999999999", "maxResult": "99999999999999999999"}).json()
    api.call("GET", path, expect=400, headers=staff, params={"firstResult": 1_000_000_001})

    assert refused["details"][0]["field"] == "firstResult"
    assert api.call("GET", path, expect=200, headers=staff, params={"firstResult": 1_000_000_000, "maxResult": -5}).json() == []
    api.call("GET", path, expect=200, headers=staff, params={"firstResult": -99999999999999999999})  # counts as 0, as before


def test_unknown_service_is_404_even_before_the_token_is_checked(api):
    # The catalogue is public, so this reveals nothing; GovStack's negative submit scenario relies on it.
    api.submit("no-such-service", {}, enterprise_data(), expect=404)


def test_a_system_token_cannot_apply_where_a_signed_in_citizen_is_required(api, service):
    system = api.token(sub="batch-client", client_id="batch-client")

    refused = api.submit(service["id"], system, enterprise_data(), expect=403).json()

    assert refused["code"] == "citizen_required"
    assert files_of(api, system) == []


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "yesterday", 20240301])
def test_a_created_date_time_out_of_range_or_malformed_is_400_and_stores_nothing(api, service, created):
    applicant = api.token(sub=unique("citizen"))

    submitted = api.submit(service["id"], applicant, enterprise_data(), created=created, expect=400).json()
    drafted = api.call("POST", f"/services/{service['id']}/drafts", expect=400, headers=applicant, json={"created": created}).json()

    assert submitted["details"] == drafted["details"] == [{"field": "created", "reason": "must be an ISO 8601 date-time between 1900 and 2099"}]
    assert files_of(api, applicant) == []
    assert api.call("GET", "/drafts", expect=200, headers=applicant).json() == []


def test_a_created_date_time_is_kept_in_utc(api, service):
    applicant = api.token(sub=unique("citizen"))

    file = api.submit(service["id"], applicant, enterprise_data(), created="2024-03-01T10:00:00+07:00").json()

    assert file["applicationData"]["created"] == "2024-03-01T03:00:00Z"


@pytest.mark.parametrize("overrides, field", [({"applicationName": None}, "applicationName"), ({"applicationName": ["a", "b"]}, "applicationName"),
                                             ({"language": {"en": True}}, "language"), ({"documentUrls": ["/documents/x", 7]}, "documentUrls[1]"),
                                             ({"formData": {"data": enterprise_data(), "eFormId": 5}}, "formData.eFormId")])
def test_a_field_of_the_wrong_type_is_400_not_stored_as_text(api, service, overrides, field):
    applicant = api.token(sub=unique("citizen"))
    body = {"applicationName": "Nam Sai", "formData": {"data": enterprise_data(), "eFormId": "ler-application"}, **overrides}

    refused = api.call("POST", f"/services/{service['id']}/applications", expect=400, headers={**applicant, **IM}, json=body).json()

    assert refused["details"] == [{"field": field, "reason": "must be a string"}]
    assert files_of(api, applicant) == []


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"NaN", b"Infinity"])
def test_a_number_json_cannot_hold_is_400_not_stored_as_null(api, service, number):
    applicant = api.token(sub=unique("citizen"))
    body = b'{"formData": {"eFormId": "ler-application", "data": {"registered_capital_lak": %s}}}' % number

    json_body = api.call("POST", f"/services/{service['id']}/applications", expect=400, content=body,
                         headers={**applicant, **IM, "Content-Type": "application/json"}).json()
    form_body = api.call("POST", f"/services/{service['id']}/applications", expect=400, headers={**applicant, **IM},
                         data={"formData": '{"eFormId": "ler-application", "data": {"registered_capital_lak": %s}}' % number.decode()}).json()

    assert json_body["details"] == [{"field": "body", "reason": "numbers must be finite"}]
    assert form_body["details"] == [{"field": "formData", "reason": "numbers must be finite"}]
    assert files_of(api, applicant) == []


@pytest.mark.parametrize("data, field", [({"decision": "approve", "reason": {"a": 1}}, "data.reason"), ({"decision": ["approve"], "reason": "ok"}, "data.decision")])
def test_a_decision_of_the_wrong_type_is_400_and_decides_nothing(api, data, field):
    applicant, reviewer, file_id = api.submitted_file()
    task_id = api.open_task(reviewer, file_id)["taskId"]

    refused = api.call("POST", f"/tasks/{task_id}/complete", expect=400, headers=reviewer, json={"data": data}).json()

    assert refused["details"] == [{"field": field, "reason": "must be a string"}]
    assert api.open_task(reviewer, file_id)["taskId"] == task_id
    assert api.file(applicant, file_id).json()["status"]["code"] == "PENDING"
