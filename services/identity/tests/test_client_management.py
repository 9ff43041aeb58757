import httpx
import pytest

from .helpers import client_request, new_key, register_client, request_time, unique


def _post(base_url, token, request, request_time_value=None):
    return httpx.post(f"{base_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {token}"},
                      json={"requestTime": request_time_value or request_time(), "request": request})


def test_created_client_is_echoed_with_an_empty_errors_array(base_url, admin_token):
    client_id = unique("rp")

    response = _post(base_url, admin_token, client_request(client_id, new_key()))

    assert response.status_code == 200
    assert response.json()["response"] == {"clientId": client_id}
    assert response.json()["errors"] == []


def test_identical_registration_again_is_answered_not_duplicated(base_url, admin_token):
    request = client_request(unique("rp"), new_key())
    _post(base_url, admin_token, request)

    again = _post(base_url, admin_token, request)

    assert again.json()["errors"] == []


def test_different_registration_with_the_same_client_id_is_a_duplicate(base_url, admin_token):
    client_id, _ = register_client(base_url, admin_token)

    response = _post(base_url, admin_token, client_request(client_id, new_key(), clientName="Other"))

    assert response.status_code == 200
    assert [e["errorCode"] for e in response.json()["errors"]] == ["duplicate_client_id"]


@pytest.mark.parametrize("override, code", [
    ({"clientId": ""}, "invalid_client_id"),
    ({"clientId": "x" * 51}, "invalid_client_id"),
    ({"clientName": ""}, "invalid_client_name"),
    ({"clientName": "n" * 257}, "invalid_client_name"),
    ({"relyingPartyId": ""}, "invalid_rp_id"),
    ({"logoUri": "not a uri"}, "invalid_uri"),
    ({"logoUri": "https://[::1/logo.png"}, "invalid_uri"),  # urlsplit raises on an unclosed IPv6 bracket
    ({"publicKey": "string"}, "invalid_public_key"),
    ({"publicKey": {"kty": "RSA", "n": "abc"}}, "invalid_public_key"),
    ({"redirectUris": []}, "invalid_redirect_uri"),
    ({"redirectUris": ["https://rp.example.la/cb#fragment"]}, "invalid_redirect_uri"),
    ({"redirectUris": ["https://[::1/cb"]}, "invalid_redirect_uri"),
    ({"authContextRefs": ["idbb:acr:unknown"]}, "invalid_acr"),
    ({"userClaims": ["salary"]}, "invalid_claim"),
    ({"grantTypes": ["implicit"]}, "invalid_grant_type"),
    ({"clientAuthMethods": ["client_secret_basic"]}, "invalid_client_auth"),
])
def test_create_refuses_invalid_field_with_its_spec_code(base_url, admin_token, override, code):
    request = client_request(unique("rp"), new_key(), **override)
    if override.get("clientId") is not None:
        request["clientId"] = override["clientId"]

    response = _post(base_url, admin_token, request)

    assert response.status_code == 200
    assert [e["errorCode"] for e in response.json()["errors"]] == [code]


def test_create_refuses_private_key_material(base_url, admin_token):
    key = new_key()

    response = _post(base_url, admin_token, client_request(unique("rp"), key, publicKey=key.as_dict(private=True)))

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_public_key"]


def test_create_refuses_a_bad_request_time(base_url, admin_token):
    response = _post(base_url, admin_token, client_request(unique("rp"), new_key()), request_time_value="yesterday")

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_request"]


def test_create_refuses_a_missing_request_object(base_url, admin_token):
    response = httpx.post(f"{base_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {admin_token}"},
                          json={"requestTime": request_time()})

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_input"]


def test_create_without_a_token_is_unauthorized(base_url):
    response = httpx.post(f"{base_url}/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": {}})

    assert response.status_code == 401
    assert response.json()["errors"][0]["errorCode"] == "unauthorized"


def test_create_with_a_token_lacking_the_scope_is_forbidden(base_url, oidc_issuer):
    token = oidc_issuer.token(audience="identity", scopes=["update_oidc_client"])

    response = _post(base_url, token, client_request(unique("rp"), new_key()))

    assert response.status_code == 403


def _update_request(**overrides) -> dict:
    request = {"clientName": "Updated", "status": "active", "logoUri": "https://rp.example.la/new.png",
               "redirectUris": ["https://rp.example.la/callback", "https://rp.example.la/other"], "userClaims": ["name"],
               "authContextRefs": ["idbb:acr:static-code"], "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}
    request.update(overrides)
    return request


def _put(base_url, token, client_id, request):
    return httpx.put(f"{base_url}/client-mgmt/oidc-client/{client_id}", headers={"Authorization": f"Bearer {token}"},
                     json={"requestTime": request_time(), "request": request})


def test_update_changes_the_client(base_url, admin_token):
    client_id, _ = register_client(base_url, admin_token)

    response = _put(base_url, admin_token, client_id, _update_request())

    assert response.json() | {"responseTime": None} == {"responseTime": None, "response": {"clientId": client_id}, "errors": []}


def test_update_of_an_unknown_client_is_invalid_client_id(base_url, admin_token):
    response = _put(base_url, admin_token, unique("missing"), _update_request())

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_client_id"]


@pytest.mark.parametrize("override, code", [
    ({"clientName": ""}, "invalid_client_name"),
    ({"status": "paused"}, "invalid_request"),
    ({"logoUri": "ftp:/x"}, "invalid_uri"),
    ({"redirectUris": ["nope"]}, "invalid_redirect_uri"),
    ({"redirectUris": ["https://[::1/cb"]}, "invalid_redirect_uri"),
    ({"authContextRefs": []}, "invalid_acr"),
    ({"userClaims": ["salary"]}, "invalid_claim"),
    ({"grantTypes": ["password"]}, "invalid_grant_type"),
    ({"clientAuthMethods": ["none"]}, "invalid_client_auth"),
])
def test_update_refuses_invalid_field_with_its_spec_code(base_url, admin_token, override, code):
    client_id, _ = register_client(base_url, admin_token)

    response = _put(base_url, admin_token, client_id, _update_request(**override))

    assert [e["errorCode"] for e in response.json()["errors"]] == [code]


def test_update_needs_the_update_scope(base_url, oidc_issuer, admin_token):
    client_id, _ = register_client(base_url, admin_token)
    token = oidc_issuer.token(audience="identity", scopes=["add_oidc_client"])

    assert _put(base_url, token, client_id, _update_request()).status_code == 403
