from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session

from identity.models import AuthTransaction, utcnow
from .helpers import linked_request, redeem, start_authorize, start_linked, transaction_id_of, wallet_post


def _pin(person) -> list[dict]:
    return [{"authFactorType": "PIN", "challenge": person["pin"], "format": "number"}]


def _page_post(browser, path, link, **request):
    response = browser.post(f"/linked-authorization/{path}", json=linked_request(**request), headers={"X-XSRF-TOKEN": link["xsrf"]})
    assert response.status_code == 200, response.text
    return response.json()


def _linked(base_url, link) -> str:
    linked = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])
    assert linked["errors"] == [], linked
    return linked["response"]["linkTransactionId"]


def test_wallet_flow_gives_the_page_a_code_that_redeems_for_the_consented_claims(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"], state="st-1", nonce="no-1")
        linked = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])
        status = _page_post(browser, "link-status", link, transactionId=link["transaction_id"], linkCode=link["link_code"])
        linked_id = linked["response"]["linkTransactionId"]
        authenticated = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"],
                                    challengeList=_pin(person))
        consent = wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"], permittedAuthorizeScopes=[])
        auth_code = _page_post(browser, "link-auth-code", link, transactionId=link["transaction_id"], linkedCode=link["link_code"])

    tokens = redeem(base_url, rp["client_id"], rp["key"], auth_code["response"]["code"])

    assert linked["errors"] == [] and linked["response"]["clientName"] == "ບໍລິການສຸຂະພາບ Health Service"
    assert linked["response"]["authFactors"] == [[{"type": "PIN"}]]
    assert set(linked["response"]["voluntaryClaims"]) == {"name", "birthdate"}
    assert status["errors"] == [] and status["response"]["linkStatus"] == "LINKED"
    assert authenticated["errors"] == [] and authenticated["response"]["linkedTransactionId"] == linked_id
    assert consent["errors"] == []
    assert auth_code["errors"] == [] and auth_code["response"]["state"] == "st-1" and auth_code["response"]["nonce"] == "no-1"
    assert auth_code["response"]["redirectUri"] == "https://rp.example.la/callback"
    assert tokens.status_code == 200, tokens.text
    jwks = KeySet.import_key_set(httpx.get(f"{base_url}/.well-known/jwks.json").json())
    userinfo = httpx.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
    claims = jwt.decode(userinfo.text, jwks, algorithms=["RS256"]).claims
    assert claims["name"] == "ສົມໃຈ ໄຊຍະວົງ" and "birthdate" not in claims


@pytest.mark.parametrize("headers, cookie", [({}, True), ({"X-XSRF-TOKEN": "other"}, True), ({"X-XSRF-TOKEN": "tok"}, False)])
def test_page_calls_without_a_matching_xsrf_header_and_cookie_are_forbidden(base_url, rp, headers, cookie):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, rp["client_id"]).text)
        if not cookie:
            browser.cookies.clear()
        response = browser.post("/linked-authorization/link-code", json=linked_request(transactionId=transaction_id), headers=headers)

    assert response.status_code == 403
    assert response.json()["errors"][0]["errorCode"] == "invalid_xsrf_token"


def test_another_browsers_xsrf_token_cannot_ask_for_a_link_code(base_url, rp):
    with httpx.Client(base_url=base_url) as victim, httpx.Client(base_url=base_url) as attacker:
        transaction_id = transaction_id_of(start_authorize(victim, rp["client_id"]).text)
        start_authorize(attacker, rp["client_id"])
        xsrf = attacker.cookies.get("XSRF-TOKEN")
        response = attacker.post("/linked-authorization/link-code", json=linked_request(transactionId=transaction_id),
                                 headers={"X-XSRF-TOKEN": xsrf})

    assert response.json()["errors"][0]["errorCode"] == "invalid_transaction_id"


@pytest.mark.parametrize("body, code", [
    ({"request": {"transactionId": "x"}}, "invalid_request"),
    (linked_request(transactionId=""), "invalid_transaction_id"),
    (linked_request(transactionId="no-such-transaction"), "invalid_transaction_id"),
])
def test_bad_link_code_requests_get_the_spec_error(base_url, rp, body, code):
    with httpx.Client(base_url=base_url) as browser:
        start_authorize(browser, rp["client_id"])
        response = browser.post("/linked-authorization/link-code", json=body, headers={"X-XSRF-TOKEN": browser.cookies.get("XSRF-TOKEN")})

    assert response.status_code == 200
    assert [e["errorCode"] for e in response.json()["errors"]] == [code]
    assert response.json()["response"] == {}


def test_a_link_code_is_redeemed_by_one_wallet_only(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
    _linked(base_url, link)

    again = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])

    assert [e["errorCode"] for e in again["errors"]] == ["invalid_link_code"]


def test_an_expired_link_code_is_refused(base_url, rp, engine):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
    with Session(engine) as session:
        transaction = session.get(AuthTransaction, link["transaction_id"])
        transaction.link_code_expires_at = utcnow() - timedelta(seconds=1)
        session.add(transaction)
        session.commit()

    response = wallet_post(base_url, "link-transaction", linkCode=link["link_code"])

    assert [e["errorCode"] for e in response["errors"]] == ["invalid_link_code"]


def test_link_status_waits_a_bounded_time_then_reports_a_timeout(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
        status = _page_post(browser, "link-status", link, transactionId=link["transaction_id"], linkCode=link["link_code"])
        wrong = _page_post(browser, "link-status", link, transactionId=link["transaction_id"], linkCode="not-the-code")

    assert [e["errorCode"] for e in status["errors"]] == ["response_timeout"]
    assert [e["errorCode"] for e in wrong["errors"]] == ["invalid_link_code"]


def test_link_status_answers_as_soon_as_the_wallet_links(base_url, rp):
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=base_url) as browser, ThreadPoolExecutor(1) as pool:
        link = start_linked(browser, rp["client_id"])
        pending = pool.submit(_page_post, browser, "link-status", link, transactionId=link["transaction_id"], linkCode=link["link_code"])
        _linked(base_url, link)
        status = pending.result(timeout=5)

    assert status["errors"] == [] and status["response"]["linkStatus"] == "LINKED"


@pytest.mark.parametrize("request_fields, code", [
    ({"individualId": "", "challengeList": [{"authFactorType": "PIN", "challenge": "1", "format": "number"}]}, "invalid_identifier"),
    ({"individualId": "2759183642", "challengeList": []}, "invalid_no_of_challenges"),
    ({"individualId": "2759183642", "challengeList": [{"authFactorType": "PIN", "challenge": "1", "format": "number"}],
      "linkedTransactionId": "unknown"}, "invalid_transaction_id"),
])
def test_bad_wallet_authentications_get_the_spec_error(base_url, request_fields, code):
    response = wallet_post(base_url, "authenticate", **{"linkedTransactionId": "", **request_fields})

    assert [e["errorCode"] for e in response["errors"]] == [code]


def test_a_wrong_pin_from_the_wallet_fails_and_the_transaction_stays_unauthenticated(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
        linked_id = _linked(base_url, link)

        failed = wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"],
                             challengeList=[{"authFactorType": "PIN", "challenge": "000000", "format": "number"}])
        consent = wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"])

    assert [e["errorCode"] for e in failed["errors"]] == ["auth_failed"]
    assert [e["errorCode"] for e in consent["errors"]] == ["invalid_transaction"]


def test_concurrent_wrong_wallet_pins_in_one_transaction_cannot_outrun_its_failure_limit(base_url, rp, settings):
    unknown_ids = [f"61708434{n:02d}" for n in range(12)]  # nobody's: only the transaction's own count can stop them
    with httpx.Client(base_url=base_url) as browser:
        linked_id = _linked(base_url, start_linked(browser, rp["client_id"]))

        def guess(individual_id):
            return wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=individual_id,
                               challengeList=[{"authFactorType": "PIN", "challenge": "000000", "format": "number"}])
        with ThreadPoolExecutor(max_workers=len(unknown_ids)) as pool:
            codes = [e["errorCode"] for answer in pool.map(guess, unknown_ids) for e in answer["errors"]]

    # Each guess counted, none lost to a race: the last allowed one ends the transaction, the rest find it ended.
    assert codes.count("auth_failed") == settings.max_failed_attempts, codes
    assert codes.count("invalid_transaction_id") == len(unknown_ids) - settings.max_failed_attempts, codes


def test_consent_only_accepts_requested_claims_and_no_scopes(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
        linked_id = _linked(base_url, link)
        wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=_pin(person))

        claim = wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["email"])
        scope = wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"], permittedAuthorizeScopes=["admin"])

    assert [e["errorCode"] for e in claim["errors"]] == ["invalid_accepted_claim"]
    assert [e["errorCode"] for e in scope["errors"]] == ["invalid_permitted_scope"]


def test_link_auth_code_times_out_before_consent_and_is_delivered_once_after(base_url, rp, person):
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
        linked_id = _linked(base_url, link)
        ask = dict(transactionId=link["transaction_id"], linkedCode=link["link_code"])
        early = _page_post(browser, "link-auth-code", link, **ask)
        wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=_pin(person))
        wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"])
        first = _page_post(browser, "link-auth-code", link, **ask)
        second = _page_post(browser, "link-auth-code", link, **ask)

    assert [e["errorCode"] for e in early["errors"]] == ["response_timeout"] and "response" not in early
    assert first["errors"] == [] and first["response"]["code"]
    assert [e["errorCode"] for e in second["errors"]] == ["invalid_transaction_id"]


def test_link_auth_code_errors_come_in_the_suites_order(base_url, rp, person):
    # GovStack's order: this browser's finished transaction, an unknown code, an unknown transaction, another transaction's code.
    with httpx.Client(base_url=base_url) as browser:
        link = start_linked(browser, rp["client_id"])
        other = start_linked(browser, rp["client_id"])
        linked_id = _linked(base_url, link)
        _linked(base_url, other)
        both_unknown = _page_post(browser, "link-auth-code", link, transactionId="no-such-transaction", linkedCode="no-such-code")
        unknown_transaction = _page_post(browser, "link-auth-code", link, transactionId="no-such-transaction", linkedCode=link["link_code"])
        other_code = _page_post(browser, "link-auth-code", link, transactionId=link["transaction_id"], linkedCode=other["link_code"])
        wallet_post(base_url, "authenticate", linkedTransactionId=linked_id, individualId=person["uin"], challengeList=_pin(person))
        wallet_post(base_url, "consent", linkedTransactionId=linked_id, acceptedClaims=["name"])
        delivered = _page_post(browser, "link-auth-code", link, transactionId=link["transaction_id"], linkedCode=link["link_code"])
        finished = _page_post(browser, "link-auth-code", link, transactionId=link["transaction_id"], linkedCode="no-such-code")
    with httpx.Client(base_url=base_url) as stranger:  # another browser: the finished transaction is not told apart from none
        start_authorize(stranger, rp["client_id"])
        foreign = stranger.post("/linked-authorization/link-auth-code", headers={"X-XSRF-TOKEN": stranger.cookies.get("XSRF-TOKEN")},
                                json=linked_request(transactionId=link["transaction_id"], linkedCode="no-such-code")).json()

    assert [e["errorCode"] for e in both_unknown["errors"]] == ["invalid_link_code"]
    assert [e["errorCode"] for e in unknown_transaction["errors"]] == ["invalid_transaction_id"]
    assert [e["errorCode"] for e in other_code["errors"]] == ["invalid_link_code"]
    assert delivered["errors"] == [] and delivered["response"]["code"]
    assert [e["errorCode"] for e in finished["errors"]] == ["invalid_transaction_id"]
    assert [e["errorCode"] for e in foreign["errors"]] == ["invalid_link_code"]


def test_two_login_tabs_in_one_browser_share_the_xsrf_token_and_both_get_link_codes(base_url, rp):
    with httpx.Client(base_url=base_url) as browser:
        first = start_linked(browser, rp["client_id"])
        second = start_linked(browser, rp["client_id"])
        again = browser.post("/linked-authorization/link-code", json=linked_request(transactionId=first["transaction_id"]),
                             headers={"X-XSRF-TOKEN": first["xsrf"]})

    assert first["xsrf"] == second["xsrf"]
    assert again.json()["errors"] == []


@pytest.mark.parametrize("path", ["link-code", "link-status", "link-transaction", "authenticate", "consent", "link-auth-code"])
@pytest.mark.parametrize("content", [b"not json", b"[]", b"null", b'{"requestTime": 5, "request": []}',
                                     b'{"requestTime": "2024-01-01T00:00:00.000Z", "request": {"transactionId": 1, "linkCode": ["x"],'
                                     b' "linkedTransactionId": {}, "individualId": 7, "challengeList": "PIN", "acceptedClaims": [1]}}'])
def test_malformed_linked_requests_get_a_client_error_not_a_server_error(base_url, path, content):
    response = httpx.post(f"{base_url}/linked-authorization/{path}", content=content,
                          headers={"Content-Type": "application/json", "X-XSRF-TOKEN": "t" * 43}, cookies={"XSRF-TOKEN": "t" * 43})

    assert response.status_code in (200, 400), response.text
    assert response.json()["errors"][0]["errorCode"] in ("invalid_request", "invalid_transaction_id", "invalid_link_code",
                                                         "invalid_identifier", "invalid_no_of_challenges")
