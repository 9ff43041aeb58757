import httpx
from sqlmodel import Session

from kernel.app import load_fixtures
from identity import uin
from identity.fixtures import CONFORMANCE_PERSON_ID, CONFORMANCE_UIN, FIXTURES
from identity.models import Person
from .helpers import login_and_consent, register_client


def test_conformance_set_loads_twice_and_its_person_signs_in_with_the_harness_pin(base_url, settings, engine, admin_token):
    conformance = settings.model_copy(update={"fixtures": "conformance"})
    load_fixtures(engine, conformance, FIXTURES)
    load_fixtures(engine, conformance, FIXTURES)  # idempotent
    client_id, _ = register_client(base_url, admin_token)

    with httpx.Client(base_url=base_url) as browser:
        callback = login_and_consent(browser, client_id, {"uin": CONFORMANCE_UIN, "pin": "password"})

    with Session(engine) as session:
        assert session.get(Person, CONFORMANCE_PERSON_ID).uin == CONFORMANCE_UIN
    assert uin.is_valid(CONFORMANCE_UIN)
    assert "code" in callback


def test_demo_set_registers_the_messaging_service_account_once(settings, infrastructure):
    from identity.fixtures import MESSAGING_CLIENT_ID
    from identity.models import ServiceAccount
    from kernel.db import make_engine, migrate

    # A database of its own: the demo set's citizen must not appear in the other tests' database.
    demo = settings.model_copy(update={"fixtures": "demo", "database_url": infrastructure.new_database("identity_demo")})
    engine = make_engine(demo)
    migrate(engine, "identity.migrations")
    load_fixtures(engine, demo, FIXTURES)
    load_fixtures(engine, demo, FIXTURES)  # idempotent

    with Session(engine) as session:
        account = session.get(ServiceAccount, MESSAGING_CLIENT_ID)
        assert (account.status, account.scopes, account.roles) == ("active", ["notification.read"], [])
        assert "d" not in account.public_key
    engine.dispose()
