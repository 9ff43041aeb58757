"""Staff provisioning into Keycloak with python-keycloak (staff.create_in_keycloak).

Keycloak cannot run here, so these tests run python-keycloak against a real HTTP server that stands in for the few admin
REST endpoints it calls (admin token, user lookup and creation, realm role, realm role mapping), keeps what it is sent,
and refuses what Keycloak refuses (wrong admin password, missing bearer token, unknown role, a username taken twice).
"""
import uuid
from dataclasses import dataclass, field

import pytest
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakGetError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.testing import serve
from identity import staff
from identity.settings import IdentitySettings

REALM, ADMIN, ADMIN_PASSWORD = "govstack", "admin", "keycloak-admin-pw"


@dataclass
class FakeKeycloak:
    """The state of the stand-in: issued admin tokens, users by id, realm roles, and role mappings by user id."""
    url: str = ""
    tokens: set = field(default_factory=set)
    token_requests: list = field(default_factory=list)
    users: dict = field(default_factory=dict)
    roles: dict = field(default_factory=lambda: {name: str(uuid.uuid4()) for name in ("admin", "designer", "operator", "auditor")})
    mappings: dict = field(default_factory=dict)

    def app(self) -> Starlette:
        async def token(request: Request):
            form = dict(await request.form())
            self.token_requests.append(form)
            if (form.get("grant_type"), form.get("client_id"), form.get("username"), form.get("password")) != ("password", "admin-cli", ADMIN, ADMIN_PASSWORD):
                return JSONResponse({"error": "invalid_grant", "error_description": "Invalid user credentials"}, status_code=401)
            issued = uuid.uuid4().hex
            self.tokens.add(issued)
            return JSONResponse({"access_token": issued, "expires_in": 60, "refresh_token": "r", "refresh_expires_in": 1800, "token_type": "Bearer"})

        def authorised(request: Request) -> bool:
            return request.headers.get("authorization", "").removeprefix("Bearer ") in self.tokens

        async def users(request: Request):
            if not authorised(request):
                return Response(status_code=401)
            if request.method == "GET":
                name = request.query_params.get("username")
                return JSONResponse([{"id": i, **u} for i, u in self.users.items() if u["username"] == name])
            user = await request.json()
            if any(u["username"] == user["username"] for u in self.users.values()):
                return JSONResponse({"errorMessage": "User exists with same username"}, status_code=409)
            user_id = str(uuid.uuid4())
            self.users[user_id] = user
            return Response(status_code=201, headers={"Location": f"{request.url}/{user_id}"})

        async def role(request: Request):
            if not authorised(request):
                return Response(status_code=401)
            name = request.path_params["name"]
            if name not in self.roles:
                return JSONResponse({"error": "Could not find role"}, status_code=404)
            return JSONResponse({"id": self.roles[name], "name": name, "composite": False, "clientRole": False})

        async def role_mappings(request: Request):
            if not authorised(request):
                return Response(status_code=401)
            user_id = request.path_params["user_id"]
            if user_id not in self.users:
                return JSONResponse({"error": "User not found"}, status_code=404)
            self.mappings.setdefault(user_id, []).extend(await request.json())
            return Response(status_code=204)

        return Starlette(routes=[
            Route("/realms/master/protocol/openid-connect/token", token, methods=["POST"]),
            Route(f"/admin/realms/{REALM}/users", users, methods=["GET", "POST"]),
            Route(f"/admin/realms/{REALM}/roles/{{name}}", role, methods=["GET"]),
            Route(f"/admin/realms/{REALM}/users/{{user_id}}/role-mappings/realm", role_mappings, methods=["POST"]),
        ])


@pytest.fixture
def keycloak():
    fake = FakeKeycloak()
    with serve(fake.app()) as url:
        fake.url = url
        yield fake


def _settings(keycloak, password=ADMIN_PASSWORD) -> IdentitySettings:
    return IdentitySettings(keycloak_url=keycloak.url, keycloak_realm=REALM, keycloak_admin_username=ADMIN, keycloak_admin_password=password)


def test_user_is_created_with_a_permanent_password_and_its_realm_roles(keycloak):
    user_id = staff.create_in_keycloak(_settings(keycloak), username="noy.designer", password="a-long-password-1", roles=["designer", "auditor"])

    token = keycloak.token_requests[0]
    assert (token["grant_type"], token["client_id"], token["username"]) == ("password", "admin-cli", ADMIN)  # master realm, admin-cli
    assert keycloak.users == {user_id: {"username": "noy.designer", "enabled": True,
                                        "credentials": [{"type": "password", "value": "a-long-password-1", "temporary": False}]}}
    assert [(r["name"], r["id"]) for r in keycloak.mappings[user_id]] == [("designer", keycloak.roles["designer"]),
                                                                          ("auditor", keycloak.roles["auditor"])]


def test_an_existing_user_keeps_its_id_and_gets_the_roles(keycloak):
    first = staff.create_in_keycloak(_settings(keycloak), username="somsak", password="a-long-password-1", roles=["operator"])

    again = staff.create_in_keycloak(_settings(keycloak), username="somsak", password="a-long-password-1", roles=["admin"])

    assert again == first and len(keycloak.users) == 1
    assert [r["name"] for r in keycloak.mappings[first]] == ["operator", "admin"]


def test_an_unknown_role_creates_nobody(keycloak):
    with pytest.raises(KeycloakGetError):
        staff.create_in_keycloak(_settings(keycloak), username="kham", password="a-long-password-1", roles=["operator", "superuser"])

    assert keycloak.users == {} and keycloak.mappings == {}


def test_wrong_admin_credentials_are_refused_and_create_nobody(keycloak):
    with pytest.raises(KeycloakAuthenticationError):
        staff.create_in_keycloak(_settings(keycloak, password="wrong"), username="kham", password="a-long-password-1", roles=["operator"])

    assert keycloak.users == {}
