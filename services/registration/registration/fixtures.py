"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, loaded through the designer's own functions."""
import importlib.resources
from datetime import datetime

import yaml

from kernel.app import FixtureLoader
from kernel.db import UnitOfWork
from registration import designer
from registration.models import ApplicationFile, Task
from registration.settings import RegistrationSettings

FIXTURE_ACTOR = "fixtures"


def _import(uow: UnitOfWork, document: dict) -> None:
    designer.import_document(uow, document=document, actor=FIXTURE_ACTOR, publish_it=True)


def load_demo(uow: UnitOfWork, settings: RegistrationSettings) -> None:
    for name in ("lao_enterprise_registration.yaml", "social_cash_transfer.yaml"):
        text = importlib.resources.files("registration.fixture_data").joinpath(name).read_text(encoding="utf-8")
        _import(uow, yaml.safe_load(text))


# --- GovStack's test data (test/openAPI/test-data.json and the ids its feature files use) ---------------------

# (service id, code, name, registration, e-form id, e-form name)
CONFORMANCE_SERVICES = [
    ("f7d33db0-2809-484e-a780-76b7ccd4ecbf", "MCTS", "Mother and Child Registration", "MCTS", "d98a205a-679b-485b-823d-7a32a391e744", "FORM"),
    ("P2c9280957e579ad7017e58a3399f0068", "GHWB", "Good Health and Well-Being", "GHWB", "w12a205a-679b-xx34-823d-7a32a391e744", "FORM"),
    ("WWc9280957e579ad0007e58a3399f0068", "INDINF", "Industry and Infrastructure", "INDINF", "w12a89q9-679b-xx34-823d-7a32a391e744", "FORM"),
    ("DEc9280007e579ad7017e58a3399k5528", "ZEROHUNGER", "Zero Hunger", "ZEROHUNGER", "k02a20pa-679b-34xx-823d-7a32a391e744", "FORM"),
    ("DEc9280007e579ad7017e58a3399k1234", "HUNGERZERO2", "Hunger Zero v2", "HUNGERZERO2", "d98a205a-679b-485b-823d-7a32a391e744", "A1"),
    ("c37b650a-24a9-4151-95d0-4d9c7437fe81", "REGISTRATION", "Registration", "REGISTRATION", "d98a205a-679b-485b-823d-7a32a391e744", "FORM"),
    ("8b410187-e137-4487-b627-09b2b909e630", "POSTPARTUM", "Post partum registration service", "POSTPARTUM", "3f7d1b2e-6c51-473a-a583-814f868cf172", "FORM"),
]
CONFORMANCE_OPERATOR_ROLE = "registration_operator"
POST_PARTUM = "8b410187-e137-4487-b627-09b2b909e630"

# (file id, service id, applicant id, main task id): files the features read, or that seeded tasks belong to.
# Files whose test-data service does not exist are kept with the service their serviceName names.
CONFORMANCE_FILES = [
    ("81c4445c-bff6-11ed-afa1-0242ac120002", POST_PARTUM, "42962de0-xxxx-11ed-0000-0242ac120004", "42962de0-xxxx-11ed-0000-0242ac120004"),
    ("33c4445c-bff3-13ed-afa1-0332ac120033", POST_PARTUM, "42933de0-xxxx-33ed-0033-3342ac120004", "33962de0-xxxx-33ed-0000-3342ac120004"),
    ("77c4775c-b7f3-17ed-afa1-0772ac120077", POST_PARTUM, "11962de0-11b2-11cc-9390-0242ac121114", "77962de0-xxxx-77ed-0000-7742ac120004"),
    ("11c4115c-b7f3-17ed-afa1-0112ac120011", POST_PARTUM, "99b62de0-11b2-11cc-9390-0242ac121555", "11962de0-xxxx-11ed-0000-1142ac120004"),
    ("b8508d35-c2f3-442b-88a1-267ca25e85c0", POST_PARTUM, "622fcd1a-8070-4efc-9d26-29461f83a15b", "13883ad3-9de2-4951-b104-49b73edcf0b0"),
    ("99be529c-fe1a-11ed-be56-0242ac120555", POST_PARTUM, "42962de0-bdb2-11ed-9397-0242ac120004", "42962de0-bdb2-11ed-9397-0242ac120004"),
    ("P2c9280957e579ad7017e58a3399f1234", "P2c9280957e579ad7017e58a3399f0068", "42962de0-bdb2-11ed-9397-0242ac120004", "42962de0-bdb2-11ed-9397-0242ac120004"),
    ("40f8df24-60a1-4558-9576-9a2264570e86", POST_PARTUM, "622fcd1a-8070-4efc-9d26-29461f83a15b", "bebb3890-f7e6-4e8f-b64a-5f778868f380"),
]
# (task id, file id, assignee id, name)
CONFORMANCE_TASKS = [
    ("42962de0-bdb2-11ed-9397-0242ac120033", "99be529c-fe1a-11ed-be56-0242ac120555", "42962de0-bdb2-11ed-9397-0242ac120022", "task name xyz"),
    ("81c4445c-bff6-11ed-afa1-0242ac120002", "P2c9280957e579ad7017e58a3399f1234", "42962de0-xxxx-11ed-0000-0242ac120004", "task name xyz"),
    ("d1e33d56-c5c7-4272-aeb6-bc2732cce1f2", "40f8df24-60a1-4558-9576-9a2264570e86", "494ef3b8-c74b-4d42-873f-f362c2715cf7", "My new task"),
]


def conformance_service(service_id: str, code: str, name: str, registration: str, eform_id: str, eform_name: str) -> dict:
    # GovStack's data is English only; the Lao texts repeat it rather than invent translations.
    both = {"en": name, "lo": name}
    return {
        "id": service_id, "code": code, "name": both, "description": both, "type": "None",
        "registrations": [{"code": registration, "name": {"en": registration, "lo": registration}}],
        "eforms": [{"id": eform_id, "name": eform_name, "version": "1", "schema": {"type": "object"}, "fields": {}}],
        "roles": [
            {"id": "handler", "name": {"en": "Handler", "lo": "Handler"}, "operator_roles": [CONFORMANCE_OPERATOR_ROLE],
             "sees": ["public", "internal", "personal", "sensitive_personal"], "decisions": {"approve": "registrar", "reject": "end", "send_back": "applicant"}},
            {"id": "registrar", "name": {"en": "Registrar", "lo": "Registrar"}, "operator_roles": [CONFORMANCE_OPERATOR_ROLE],
             "sees": ["public", "internal", "personal", "sensitive_personal"], "decisions": {"approve": "end", "reject": "end", "send_back": "applicant"}},
        ],
        "steps": [{"type": "notify_applicant"}, {"type": "write_registry"}],
    }


def load_conformance(uow: UnitOfWork, settings: RegistrationSettings) -> None:
    eform_of = {}
    for row in CONFORMANCE_SERVICES:
        _import(uow, conformance_service(*row))
        eform_of[row[0]] = row[4]
    seeded = datetime.fromisoformat("2023-05-29T09:40:33+00:00")
    for file_id, service_id, applicant_id, main_task_id in CONFORMANCE_FILES:
        if uow.session.get(ApplicationFile, file_id) is None:
            uow.session.add(ApplicationFile(id=file_id, service_id=service_id, service_version=None, applicant_id=applicant_id,
                                            application_name="Amya Yuko", status="PENDING", eform_id=eform_of[service_id],
                                            main_task_id=main_task_id, created=seeded, registered=seeded, description="Any text."))
    uow.session.flush()
    for task_id, file_id, assignee_id, name in CONFORMANCE_TASKS:
        if uow.session.get(Task, task_id) is None:
            file = uow.session.get(ApplicationFile, file_id)
            uow.session.add(Task(id=task_id, file_id=file_id, main_task_id=file.main_task_id, service_id=file.service_id,
                                 role_id="registrar", role_name="Registrar", name=name, description="description text",
                                 eform_id=file.eform_id, assignee_id=assignee_id, created=seeded))


FIXTURES: dict[str, FixtureLoader] = {"demo": load_demo, "conformance": load_conformance}
