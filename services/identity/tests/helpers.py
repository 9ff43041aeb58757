"""API helpers for identity tests: each asserts the status it expects, so a failure points at the step."""
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def request_time() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig"})


def client_request(client_id: str, key: RSAKey, **overrides) -> dict:
    request = {
        "clientId": client_id, "clientName": "ບໍລິການສຸຂະພາບ Health Service", "relyingPartyId": f"rp-{client_id}",
        "logoUri": "https://rp.example.la/logo.png", "redirectUris": ["https://rp.example.la/callback"],
        "authContextRefs": ["idbb:acr:static-code"], "publicKey": key.as_dict(private=False),
        "userClaims": ["name", "birthdate", "phone_number", "email"], "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    request.update(overrides)
    return {k: v for k, v in request.items() if v is not None}


def register_client(base_url: str, token: str, *, key: RSAKey | None = None, **overrides) -> tuple[str, RSAKey]:
    key = key or new_key()
    client_id = overrides.pop("clientId", None) or unique("rp")
    response = httpx.post(f"{base_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {token}"},
                          json={"requestTime": request_time(), "request": client_request(client_id, key, **overrides)})
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == [], response.text
    return client_id, key


def enrol_person(base_url: str, token: str, *, pin: str = "246810", full_name=None) -> dict:
    enrollment_id = unique("enr")
    fields = {"fullName": full_name or '[{"language": "lao", "value": "ສົມໃຈ ໄຊຍະວົງ"}, {"language": "eng", "value": "Somchai Xayavong"}]',
              "dateOfBirth": "1990/01/01", "phone": "+856201234567", "email": "somchai@example.la", "city": "Vientiane"}
    body = {"id": "govstack.enrollment", "version": "v1", "requesttime": request_time(),
            "request": {"id": enrollment_id, "process": "NEW", "source": "REGISTRATION_CLIENT", "fields": fields, "finalize": True}}
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.put(f"{base_url}/enrollment", json=body, headers=headers)
    assert response.status_code == 201, response.text
    record = httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).json()
    assert httpx.put(f"{base_url}/persons/{record['personId']}/pin", json={"pin": pin}, headers=headers).status_code == 204
    return {"person_id": record["personId"], "uin": record["uin"], "pin": pin, "enrollment_id": enrollment_id}


def assertion(key: RSAKey, client_id: str, audience: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex, **overrides}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def transaction_id_of(html: str) -> str:
    return re.search(r'name="transaction_id" value="([^"]+)"', html).group(1)


def start_authorize(browser: httpx.Client, client_id: str, **params) -> httpx.Response:
    query = {"client_id": client_id, "redirect_uri": "https://rp.example.la/callback", "response_type": "code",
             "scope": "openid profile", "state": unique("state"), "nonce": unique("nonce"), **params}
    return browser.get("/authorize", params={k: v for k, v in query.items() if v is not None})


def login_and_consent(browser: httpx.Client, client_id: str, person: dict, *, accept: list[str] | None = None, **params) -> dict:
    """Drive the browser pages to the redirect; returns the callback's query parameters."""
    page = start_authorize(browser, client_id, **params)
    assert page.status_code == 200, page.text
    transaction_id = transaction_id_of(page.text)
    login = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})
    assert login.status_code == 303, login.text
    if login.headers["location"].startswith("/authorize/consent"):
        consent_page = browser.get(login.headers["location"])
        assert consent_page.status_code == 200
        offered = re.findall(r'name="claims" value="([^"]+)"', consent_page.text)
        decision = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow",
                                                             "claims": offered if accept is None else accept})
        assert decision.status_code == 303, decision.text
        location = decision.headers["location"]
    else:
        location = login.headers["location"]
    assert location.startswith("https://rp.example.la/callback?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def redeem(base_url: str, client_id: str, key: RSAKey, code: str, **overrides) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id, "redirect_uri": "https://rp.example.la/callback",
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion(key, client_id, f"{base_url}/oauth/token"), **overrides}
    return httpx.post(f"{base_url}/oauth/token", data={k: v for k, v in form.items() if v is not None})


def linked_request(**request) -> dict:
    return {"requestTime": request_time(), "request": request}


def start_linked(browser: httpx.Client, client_id: str, **params) -> dict:
    """Open the login page (which sets the XSRF cookie) and ask for a link code, as the page's QR panel does."""
    page = start_authorize(browser, client_id, **params)
    assert page.status_code == 200, page.text
    transaction_id = transaction_id_of(page.text)
    xsrf = browser.cookies.get("XSRF-TOKEN")
    response = browser.post("/linked-authorization/link-code", json=linked_request(transactionId=transaction_id),
                            headers={"X-XSRF-TOKEN": xsrf})
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == [], response.text
    return {"transaction_id": transaction_id, "link_code": response.json()["response"]["linkCode"], "xsrf": xsrf}


def wallet_post(base_url: str, path: str, **request) -> dict:
    """A call from the wallet app (no browser cookies); returns the envelope, asserting HTTP 200."""
    response = httpx.post(f"{base_url}/linked-authorization/{path}", json=linked_request(**request))
    assert response.status_code == 200, response.text
    return response.json()


def wla_challenge(key, wallet_user_id: str, issuer: str, linked_transaction_id: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": wallet_user_id, "aud": issuer, "sub": linked_transaction_id, "iat": now, "exp": now + 60, **overrides}
    return jwt.encode({"alg": "RS256"}, claims, key)


PARTNER_KEY = "partner-secret-key"


def new_partner(engine) -> str:
    """A wallet partner (PARTNER-ID) whose PARTNER-API-KEY is PARTNER_KEY."""
    from sqlmodel import Session

    from identity.models import WalletPartner
    from identity.secrets_check import hash_secret

    partner_id = unique("wallet-partner")
    with Session(engine) as session:
        session.add(WalletPartner(partner_id=partner_id, name="Test wallet", api_key_hash=hash_secret(PARTNER_KEY)))
        session.commit()
    return partner_id
