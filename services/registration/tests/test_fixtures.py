"""The demo and conformance data sets: loaded through the designer's functions, idempotent, and what GovStack's suite reads."""
import pytest

from kernel.app import load_fixtures
from registration.fixtures import FIXTURES
from .api_client import IM


@pytest.fixture(scope="module")
def conformance(app, settings):
    conformance_settings = settings.model_copy(update={"fixtures": "conformance"})
    load_fixtures(app.state.engine, conformance_settings, FIXTURES)
    load_fixtures(app.state.engine, conformance_settings, FIXTURES)  # a restart loads it again
    return conformance_settings


def test_demo_services_are_published_once(api, app, settings):
    load_fixtures(app.state.engine, settings, FIXTURES)  # already loaded at start; again changes nothing

    designs = {s["code"]: s for s in api.call("GET", "/designer/services", expect=200, headers=api.designer()).json()}

    assert (designs["LER"]["publishedVersion"], designs["LER"]["latestVersion"]) == (1, 1)
    assert (designs["SCT"]["publishedVersion"], designs["SCT"]["latestVersion"]) == (1, 1)


def test_conformance_services_are_served_as_the_suite_expects(api, conformance):
    service = api.call("GET", "/services/P2c9280957e579ad7017e58a3399f0068", expect=200, headers=IM).json()
    eforms = api.call("GET", "/services/P2c9280957e579ad7017e58a3399f0068/eForms", expect=200).json()
    eform = api.call("GET", "/eForms/d98a205a-679b-485b-823d-7a32a391e744", expect=200).json()
    by_name = api.call("GET", "/services", expect=200, params={"name": "Zero Hunger"}).json()

    assert [s["name"] for s in service] == ["Good Health and Well-Being"]
    assert eforms == [{"eFormId": "w12a205a-679b-xx34-823d-7a32a391e744", "name": "FORM", "description": "", "version": "1", "latest": True}]
    assert eform["eFormId"] == "d98a205a-679b-485b-823d-7a32a391e744" and isinstance(eform["schema"], dict)
    assert [s["name"] for s in by_name] == ["Zero Hunger"]


def test_conformance_statistics_know_mcts(api, conformance):
    params = {"startDate": "2021-01-30", "endDate": "2021-01-30", "registrationName": "MCTS", "operator": "Ingmar Vali", "role": "Handler"}

    known = api.call("GET", "/data/statistics/1.0", expect=200, headers={**IM, **api.token(scopes=["statistics.read"])}, params=params)
    api.call("GET", "/data/statistics/1.0", expect=404, headers={**IM, **api.token(scopes=["statistics.read"])}, params={"registrationName": "n0tex1st"})

    assert known.headers["content-type"] == "application/json; charset=utf-8"
    assert known.json() == [{"processed": 0, "approved": 0, "sentBack": 0, "rejected": 0, "references": {
        "startDate": "2021-01-30", "endDate": "2021-01-30", "registrationName": "MCTS", "operator": "Ingmar Vali", "role": "Handler",
        "timeframeDay": False, "timeframeWeek": False, "timeframeMonth": False, "timeframeYear": False}}]


def test_statistics_read_the_last_of_repeated_parameters(api, conformance):
    # The suite appends its query string twice: ...&timeframe=day?startDate=2021-01-30&...&timeframe=day
    response = api.call("GET", "/data/statistics/1.0?registrationName=MCTS&timeframe=day?startDate=2021-01-30&registrationName=MCTS&timeframe=day",
                        expect=200, headers={**IM, **api.token(scopes=["statistics.read"])})

    assert response.json()[0]["references"]["timeframeDay"] is True


def test_conformance_files_and_tasks_are_there_for_operators(api, conformance):
    operator = api.token(sub="494ef3b8-c74b-4d42-873f-f362c2715cf7", roles=["registration_operator"])  # the seeded assignee

    file = api.file(operator, "b8508d35-c2f3-442b-88a1-267ca25e85c0").json()
    task = api.call("GET", "/tasks/81c4445c-bff6-11ed-afa1-0242ac120002", expect=200, headers=operator).json()
    completed = api.decide(operator, "d1e33d56-c5c7-4272-aeb6-bc2732cce1f2", "approve", "ok").json()
    again = api.decide(operator, "d1e33d56-c5c7-4272-aeb6-bc2732cce1f2", "approve", "ok").json()

    assert file["serviceId"] == "8b410187-e137-4487-b627-09b2b909e630"
    assert task["taskId"] == "81c4445c-bff6-11ed-afa1-0242ac120002" and task["serviceName"] == "Good Health and Well-Being"
    assert completed == again and completed["taskId"] == "d1e33d56-c5c7-4272-aeb6-bc2732cce1f2"
