"""The migration that makes a stored verificationSignedAs follow its signature's method (a client's wrong claim used to
be stored as it came)."""
import sqlalchemy as sa
from alembic import command

from kernel.db import make_engine, migrations_config

BEFORE = "9e4b1f6c2a57"


def _signature(connection, signature_id: str, method: str, signed_as: str | None) -> None:
    connection.execute(sa.text(
        "INSERT INTO signature (id, payload, signature, verification_method, verification_payload, verification_payload_hash,"
        " verification_signed_by, verification_signed_as, timestamp, signed_without_object_reference, object_type)"
        " VALUES (:id, 'p', 's', :method, 'vp', 'h', 'key', :signed_as, '2026-11-01T00:00:00Z', false, 'revision')"),
        {"id": signature_id, "method": method, "signed_as": signed_as})


def test_wrong_and_missing_claims_are_corrected_and_right_ones_kept(settings, infrastructure):
    engine = make_engine(settings.model_copy(update={"database_url": infrastructure.new_database("consent_signed_as")}))
    with engine.begin() as connection:
        config = migrations_config("consent.migrations", connection)
        command.upgrade(config, BEFORE)
        _signature(connection, "service-said-individual", "jws-service", "individual")
        _signature(connection, "individual-said-delegate", "jws-individual", "delegate")
        _signature(connection, "service-right", "jws-service", "delegate")
        _signature(connection, "individual-right", "jws-individual", "individual")
        _signature(connection, "service-unsaid", "jws-service", None)

        command.upgrade(config, "head")
        stored = dict(connection.execute(sa.text("SELECT id, verification_signed_as FROM signature")).all())
    engine.dispose()

    assert stored == {"service-said-individual": "delegate", "individual-said-delegate": "individual",
                      "service-right": "delegate", "individual-right": "individual", "service-unsaid": "delegate"}
