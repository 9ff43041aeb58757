"""A relying party's name per language (clientName#lo, clientName#en): registered through client-mgmt, shown on the pages."""

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from kernel.app import load_fixtures
from kernel.db import make_engine, migrate, migrations_config
from identity.fixtures import FIXTURES, PORTAL_CLIENT_ID
from identity.models import OidcClient
from .helpers import client_request, new_key, register_client, request_time, start_authorize, transaction_id_of, unique

LAO_NAME = "ບໍລິການສຸຂະພາບ ນະຄອນຫຼວງ"
DEFAULT_NAME = "Vientiane Health Service"


def _named(name: str) -> str:
    return f"<strong>{name}</strong>"


def _post(base_url, token, request):
    return httpx.post(f"{base_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {token}"},
                      json={"requestTime": request_time(), "request": request})


def _put(base_url, token, client_id, request):
    return httpx.put(f"{base_url}/client-mgmt/oidc-client/{client_id}", headers={"Authorization": f"Bearer {token}"},
                     json={"requestTime": request_time(), "request": request})


def _update_request(**overrides) -> dict:
    request = {"clientName": DEFAULT_NAME, "status": "active", "logoUri": "https://rp.example.la/logo.png",
               "redirectUris": ["https://rp.example.la/callback"], "userClaims": ["name", "birthdate", "phone_number", "email"],
               "authContextRefs": ["idbb:acr:static-code"], "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}
    request.update(overrides)
    return request


def _login_page(base_url, client_id, **params) -> str:
    with httpx.Client(base_url=base_url) as browser:
        page = start_authorize(browser, client_id, **params)
    assert page.status_code == 200, page.text
    return page.text


@pytest.fixture(scope="module")
def named_rp(base_url, admin_token) -> str:
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME, **{"clientName#lo": LAO_NAME})
    return client_id


def test_lao_sign_in_page_names_the_client_in_lao(base_url, named_rp):
    page = _login_page(base_url, named_rp)

    assert '<html lang="lo">' in page
    assert _named(LAO_NAME) in page and DEFAULT_NAME not in page


def test_english_sign_in_page_names_the_client_by_its_default_name_when_it_has_no_english_one(base_url, named_rp):
    page = _login_page(base_url, named_rp, ui_locales="en")

    assert _named(DEFAULT_NAME) in page and LAO_NAME not in page


def test_english_sign_in_page_prefers_the_english_name_over_the_default(base_url, admin_token):
    client_id, _ = register_client(base_url, admin_token, clientName=LAO_NAME, **{"clientName#en": "Capital Health Service"})

    page = _login_page(base_url, client_id, ui_locales="en")

    assert _named("Capital Health Service") in page and LAO_NAME not in page


def test_lao_sign_in_page_falls_back_to_the_default_name_without_a_lao_one(base_url, admin_token):
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME)

    page = _login_page(base_url, client_id)

    assert '<html lang="lo">' in page and _named(DEFAULT_NAME) in page


def test_consent_page_names_the_client_in_the_language_it_is_shown_in(base_url, named_rp, person):
    with httpx.Client(base_url=base_url) as browser:
        transaction_id = transaction_id_of(start_authorize(browser, named_rp).text)
        login = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": person["uin"], "pin": person["pin"]})
        lao = browser.get(login.headers["location"])
        english = browser.get("/authorize/consent", params={"transaction_id": transaction_id, "ui_locales": "en"})

    assert login.headers["location"].startswith("/authorize/consent")
    assert _named(LAO_NAME) in lao.text
    assert _named(DEFAULT_NAME) in english.text and LAO_NAME not in english.text


def test_names_per_language_are_stored_as_registered(base_url, admin_token, engine):
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME,
                                   **{"clientName#lo": LAO_NAME, "clientName#EN": "Capital Health Service"})

    with Session(engine) as session:
        client = session.get(OidcClient, client_id)
        assert (client.client_name, client.client_names) == (DEFAULT_NAME, {"lo": LAO_NAME, "en": "Capital Health Service"})


def test_update_replaces_the_names_per_language(base_url, admin_token):
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME, **{"clientName#lo": LAO_NAME})

    renamed = _put(base_url, admin_token, client_id, _update_request(**{"clientName#lo": "ໂຮງໝໍ ມິດຕະພາບ"}))

    assert renamed.json()["errors"] == []
    assert _named("ໂຮງໝໍ ມິດຕະພາບ") in _login_page(base_url, client_id)


def test_update_without_a_lao_name_leaves_the_lao_page_on_the_default_name(base_url, admin_token, engine):
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME, **{"clientName#lo": LAO_NAME})

    _put(base_url, admin_token, client_id, _update_request())

    with Session(engine) as session:
        assert session.get(OidcClient, client_id).client_names == {}
    assert _named(DEFAULT_NAME) in _login_page(base_url, client_id)


def test_a_different_lao_name_under_the_same_client_id_is_a_duplicate(base_url, admin_token):
    key, client_id = new_key(), unique("rp")
    _post(base_url, admin_token, client_request(client_id, key, **{"clientName#lo": LAO_NAME}))

    again = _post(base_url, admin_token, client_request(client_id, key, **{"clientName#lo": "ຊື່ອື່ນ"}))

    assert [e["errorCode"] for e in again.json()["errors"]] == ["duplicate_client_id"]


BAD_NAMES = [
    {"clientName#fr": "Service de santé"},  # a language the pages are not shown in
    {"clientName#lo-LA": LAO_NAME},
    {"clientName#": LAO_NAME},
    {"clientName#lo": 42},
    {"clientName#lo": ["ບໍລິການ"]},
    {"clientName#lo": {"text": "ບໍລິການ"}},
    {"clientName#lo": "  "},
    {"clientName#lo": "ນ" * 257},
    {"clientName#lo": LAO_NAME, "clientName#LO": "ຊື່ອື່ນ"},  # one language twice
    {"client_name#lo": LAO_NAME},  # the snake_case spelling is refused, not silently dropped
]


@pytest.mark.parametrize("names", BAD_NAMES)
def test_create_refuses_a_bad_name_per_language_with_invalid_client_name(base_url, admin_token, engine, names):
    client_id = unique("rp")

    response = _post(base_url, admin_token, client_request(client_id, new_key(), **names))

    assert response.status_code == 200  # the spec's envelope: business errors are HTTP 200 with errors[]
    assert response.json()["response"] == {"clientId": client_id}
    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_client_name"]
    with Session(engine) as session:
        assert session.get(OidcClient, client_id) is None


@pytest.mark.parametrize("names", BAD_NAMES)
def test_update_refuses_a_bad_name_per_language_and_keeps_the_old_names(base_url, admin_token, engine, names):
    client_id, _ = register_client(base_url, admin_token, clientName=DEFAULT_NAME, **{"clientName#lo": LAO_NAME})

    response = _put(base_url, admin_token, client_id, _update_request(**names))

    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_client_name"]
    with Session(engine) as session:
        assert session.get(OidcClient, client_id).client_names == {"lo": LAO_NAME}


def test_demo_portal_client_has_the_portal_lao_title_also_when_loaded_before_names_existed(settings, infrastructure):
    demo = settings.model_copy(update={"fixtures": "demo", "database_url": infrastructure.new_database("identity_demo_names")})
    engine = make_engine(demo)
    migrate(engine, "identity.migrations")
    load_fixtures(engine, demo, FIXTURES)
    with Session(engine) as session:
        first = dict(session.get(OidcClient, PORTAL_CLIENT_ID).client_names)
        session.get(OidcClient, PORTAL_CLIENT_ID).client_names = {}  # as the set left it before this change
        session.commit()

    load_fixtures(engine, demo, FIXTURES)

    with Session(engine) as session:
        again = session.get(OidcClient, PORTAL_CLIENT_ID).client_names
    engine.dispose()
    # The portal's own Lao site title (web/web/i18n.py), so that the sign-in page and the portal name it alike.
    assert first == again == {"lo": "ການບໍລິການລັດ ອອນລາຍ"}


def test_migration_gives_clients_registered_before_it_no_names_and_downgrades(settings, infrastructure):
    engine = make_engine(settings.model_copy(update={"database_url": infrastructure.new_database("identity_names_migration")}))
    with engine.begin() as connection:
        config = migrations_config("identity.migrations", connection)
        command.upgrade(config, "a41f7c2e9b60")
        connection.execute(sa.text(
            "INSERT INTO oidc_client (client_id, client_name, relying_party_id, logo_uri, redirect_uris, auth_context_refs, public_key,"
            " user_claims, grant_types, client_auth_methods, status, registration_digest, created_at, updated_at) VALUES ('old-rp',"
            " 'Old RP', 'old-rp', 'https://rp.example.la/logo.png', '[]', '[]', '{}', '[]', '[]', '[]', 'active', 'x', now(), now())"))

        command.upgrade(config, "head")
        names = connection.execute(sa.text("SELECT client_names FROM oidc_client WHERE client_id = 'old-rp'")).scalar_one()
        command.downgrade(config, "a41f7c2e9b60")
        columns = {c["name"] for c in sa.inspect(connection).get_columns("oidc_client")}
    engine.dispose()

    assert names == {}
    assert "client_names" not in columns
