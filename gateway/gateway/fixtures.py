"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour."""
from gateway.registry import set_right, upsert_application, upsert_member, upsert_service
from gateway.settings import GatewaySettings
from kernel.app import FixtureLoader
from kernel.db import UnitOfWork

# The providers the GovStack IM compliance suite asks about (test/openAPI/test-data.json), each with service alp4aNum3r1c.
CONFORMANCE_PROVIDERS = [
    ("identifier", "identifier", "alp4aNum3r1c", "alp4aNum3r1c"),
    ("a11a11a11a", "asd2211a", "12as12", "m3mb3rc0d3"),
    ("a552example", "zzz321a", "m3mb3rc0d3", "aa15"),
    ("valid1dentifi3r", "rand0mid3nt", "str1ng", "azxcv55"),
]
CONFORMANCE_CLIENT = ("eGovStack", "GOV", "90000009", "digitalregistries")
CONFORMANCE_SERVICE = "alp4aNum3r1c"


def _example_openapi(title: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0"},
        "paths": {"/items": {"get": {"responses": {"200": {"description": "The items"}}}},
                  "/items/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                          "responses": {"200": {"description": "One item"}}}}},
    }


def load_conformance(uow: UnitOfWork, settings: GatewaySettings) -> None:
    """The compliance suite's providers and its caller, allowed to call every provider's service."""
    session = uow.session
    instance, member_class, member_code, app_code = CONFORMANCE_CLIENT
    caller_member = upsert_member(session, instance=instance, member_class=member_class, code=member_code, name="Digital registries")
    caller = upsert_application(session, member=caller_member, code=app_code, client_id=app_code)
    for instance, member_class, member_code, app_code in CONFORMANCE_PROVIDERS:
        member = upsert_member(session, instance=instance, member_class=member_class, code=member_code)
        application = upsert_application(session, member=member, code=app_code)
        service = upsert_service(session, application=application, code=CONFORMANCE_SERVICE,
                                 url=f"{settings.public_url.rstrip('/')}/conformance-example",
                                 openapi=_example_openapi(f"{member_code} example service"))
        set_right(session, service=service, client=caller, allowed=True, only_if_absent=True)


FIXTURES: dict[str, FixtureLoader] = {"conformance": load_conformance}
