import httpx

from kernel.app import load_fixtures
from identity.fixtures import CONFORMANCE_UIN, FIXTURES
from .helpers import linked_request, new_key, request_time


def _load(engine, settings):
    conformance = settings.model_copy(update={"fixtures": "conformance"})
    load_fixtures(engine, conformance, FIXTURES)
    load_fixtures(engine, conformance, FIXTURES)  # idempotent


def test_harness_transactions_accept_link_codes_with_the_harness_xsrf_token(base_url, engine, settings):
    _load(engine, settings)
    headers, cookies = {"X-XSRF-TOKEN": "X-XSRF-TOKEN"}, {"XSRF-TOKEN": "X-XSRF-TOKEN"}

    pending = httpx.post(f"{base_url}/linked-authorization/link-code", json=linked_request(transactionId="transactionId02"),
                         headers=headers, cookies=cookies)
    completed = httpx.post(f"{base_url}/linked-authorization/link-code", json=linked_request(transactionId="transactionId04"),
                           headers=headers, cookies=cookies)
    invalid = httpx.post(f"{base_url}/linked-authorization/link-code", json=linked_request(transactionId="transaction_id_004"),
                         headers=headers, cookies=cookies)

    assert pending.json()["errors"] == [] and pending.json()["response"]["transactionId"] == "transactionId02"
    assert [e["errorCode"] for e in completed.json()["errors"]] == ["invalid_transaction_id"]
    assert [e["errorCode"] for e in invalid.json()["errors"]] == ["invalid_transaction_id"]


def test_harness_partner_binds_a_key_for_the_conformance_person_with_a_wallet_binding_token(base_url, engine, settings, oidc_issuer):
    _load(engine, settings)
    token = oidc_issuer.token(sub="wallet-backend", audience="identity", scopes=["wallet_binding"])
    request = {"individualId": CONFORMANCE_UIN, "authFactorType": "WLA", "format": "jwt", "publicKey": new_key().as_dict(private=False),
               "challengeList": [{"authFactorType": "PIN", "challenge": "password", "format": "alpha-numeric"}]}

    response = httpx.post(f"{base_url}/wallet-binding", json={"requestTime": request_time(), "request": request},
                          headers={"Authorization": f"Bearer {token}", "PARTNER-ID": "PARTNER-ID", "PARTNER-API-KEY": "PARTNER-API-KEY"})

    assert response.status_code == 200 and response.json()["errors"] == [], response.text
