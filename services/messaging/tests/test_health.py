import httpx


def test_ready_when_database_and_broker_answer(base_url):
    response = httpx.get(f"{base_url}/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


def test_live_answers_without_dependencies(base_url):
    assert httpx.get(f"{base_url}/health/live").json() == {"status": "ok"}
