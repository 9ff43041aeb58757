"""Garbage sent to every operation of the API gets a 4xx, never a 500."""
import re
import uuid

import pytest

BODIES = [None, [], {"policy": None, "dataAgreement": [], "individual": 1, "webhook": "x", "consentRecord": {}, "signature": {}}]


def _operations(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item if not path.startswith("/health")]


@pytest.mark.parametrize("path_id", ["not-an-id!", str(uuid.uuid4())])
def test_garbage_never_causes_a_server_error(client, tokens, path_id):
    everyone = {**tokens("admin", "application", "verifier", "auditor"), "X-ConsentBB-IndividualId": str(uuid.uuid4())}
    failures = []

    for method, path in _operations(client):
        url = re.sub(r"\{[^}]+\}", path_id, path)
        for body in BODIES:
            for params in ({}, {"individualId": "x y", "dataAgreementId": str(uuid.uuid4()), "revisionId": "1", "limit": "-1"},
                           {"offset": "99999999999999999999"}):
                response = client.request(method, url, headers=everyone, params=params, json=body)
                if response.status_code >= 500:
                    failures.append((method, url, body, params, response.status_code))

    assert failures == []
