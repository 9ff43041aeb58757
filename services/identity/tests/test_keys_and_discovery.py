import base64
import hashlib

import httpx
from cryptography import x509
from sqlmodel import Session, select

from kernel.db import make_engine
from kernel.testing import serve
from identity import keys
from identity.app import create_app
from identity.models import SigningKey


def test_discovery_lists_every_required_endpoint(base_url, settings):
    config = httpx.get(f"{base_url}/.well-known/openid-configuration").json()

    assert config["issuer"] == settings.public_url
    assert config["authorization_endpoint"] == f"{settings.public_url}/authorize"
    assert config["token_endpoint"] == f"{settings.public_url}/oauth/token"
    assert config["userinfo_endpoint"] == f"{settings.public_url}/oidc/userinfo"
    assert config["jwks_uri"] == f"{settings.public_url}/.well-known/jwks.json"
    assert config["registration_endpoint"] == f"{settings.public_url}/client-mgmt/oidc-client"
    assert "openid" in config["scopes_supported"] and config["response_types_supported"] == ["code"]
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


def test_discovery_and_jwks_are_json_with_the_utf8_charset_the_govstack_suite_expects(base_url):
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json"):
        response = httpx.get(f"{base_url}{path}")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_jwks_entry_has_spec_fields_and_a_certificate_for_the_same_key(base_url):
    entry = httpx.get(f"{base_url}/.well-known/jwks.json").json()["keys"][0]

    assert {"kid", "use", "kty", "e", "n", "x5t#S256", "x5c", "exp"} <= entry.keys()
    assert (entry["use"], entry["kty"]) == ("sig", "RSA")
    der = base64.b64decode(entry["x5c"][0])
    numbers = x509.load_der_x509_certificate(der).public_key().public_numbers()
    assert numbers.n == int.from_bytes(base64.urlsafe_b64decode(entry["n"] + "=="), "big")
    assert entry["x5t#S256"] == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def test_private_keys_are_stored_encrypted(engine, base_url):
    with Session(engine) as session:
        stored = session.exec(select(SigningKey)).all()

    assert stored
    assert all("PRIVATE KEY" not in row.private_key_encrypted for row in stored)


def test_rotation_signs_with_a_new_key_and_keeps_the_previous_one_published(infrastructure, oidc_issuer, settings):
    own = settings.model_copy(update={"database_url": infrastructure.new_database("identity_rotation")})
    with serve(create_app(own)) as url:
        before = [k["kid"] for k in httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]]
        engine = make_engine(own)
        with Session(engine) as session:
            new_key = keys.rotate(session, own)
            session.commit()
            signing_kid = keys.signing_key(session, own).kid
        engine.dispose()

        after = [k["kid"] for k in httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]]

    assert len(before) == 1
    assert signing_kid == new_key.kid
    assert set(after) == {before[0], new_key.kid}
