"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour. Idempotent: rows that
exist (by id) are left alone."""
import uuid

from consent import records, revisions, signing
from consent.enums import RecordState, SchemaName, VerificationMethod
from consent.models import ConsentRecord, DataAgreement, DataAgreementAttribute, Individual, Policy
from consent.schemas import record_snapshot_data
from consent.settings import ConsentSettings
from kernel.app import FixtureLoader
from kernel.db import UnitOfWork

FIXTURE_AUTHOR = "fixtures"


def _demo_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://consent.govstack.la/demo/{name}"))


def _policy(uow: UnitOfWork, **fields) -> Policy:
    policy = uow.session.get(Policy, fields["id"])
    if policy is None:
        policy = Policy(**fields)
        uow.session.add(policy)
        uow.session.flush()
        revision = revisions.append(uow.session, schema_name=SchemaName.policy.value, object_id=policy.id,
                                    object_data=revisions.policy_data(policy), authorized_by_other=FIXTURE_AUTHOR)
        policy.current_revision_id = revision.id
    return policy


def _agreement(uow: UnitOfWork, *, policy: Policy, attributes: list[dict], **fields) -> DataAgreement:
    agreement = uow.session.get(DataAgreement, fields["id"])
    if agreement is None:
        agreement = DataAgreement(policy_id=policy.id, policy_revision_id=policy.current_revision_id, **fields)
        uow.session.add(agreement)
        uow.session.flush()
        for position, attribute in enumerate(attributes):
            uow.session.add(DataAgreementAttribute(data_agreement_id=agreement.id, position=position, **attribute))
        uow.session.flush()
        revision = revisions.append(uow.session, schema_name=SchemaName.data_agreement.value, object_id=agreement.id,
                                    object_data=revisions.agreement_data(uow.session, agreement), authorized_by_other=FIXTURE_AUTHOR)
        agreement.current_revision_id = revision.id
    return agreement


def load_conformance(uow: UnitOfWork, settings: ConsentSettings) -> None:
    """The GovStack seed data (the spec's mock fixtures, string ids): the compliance suite reads policy 1 and agreement 1."""
    individual = uow.session.get(Individual, "1")
    if individual is None:
        individual = Individual(id="1", external_id="12345678", external_id_type="foundational id", identity_provider_id="IDBB")
        uow.session.add(individual)
    policy = _policy(uow, id="1", name="Ministry of Health Privacy Policy", version="1.0",
                     url="https://health.example.org/privacy-policy/1.0", jurisdiction="EU", industry_sector="Public",
                     data_retention_period_days=365, geographic_restriction="EU", storage_location="EU")
    agreement = _agreement(
        uow, policy=policy, id="1", version="1.0", controller_id="1", controller_name="Ministry of Health",
        controller_url="https://health.example.org", purpose="Registration in Health App", lawful_basis="consent",
        data_use="data_source", dpia="", active=True, forgettable=False, lifecycle="Complete",
        attributes=[{"name": "name", "description": "Name of the individual", "sensitivity": "false", "category": "identity"},
                    {"name": "age", "description": "Age of the individual", "sensitivity": "false", "category": "demographics"}])
    if uow.session.get(ConsentRecord, "1") is None:
        _signed_record(uow, settings, record_id="1", agreement=agreement, individual=individual)


def _signed_record(uow: UnitOfWork, settings: ConsentSettings, *, record_id: str, agreement: DataAgreement, individual: Individual) -> None:
    """Seed record 1 as the spec does: unsigned, then signed (here by the service's delegate key)."""
    agreement_revision = revisions.latest(uow.session, schema_name=SchemaName.data_agreement.value, object_id=agreement.id)
    record = ConsentRecord(id=record_id, data_agreement_id=agreement.id, data_agreement_revision_id=agreement_revision.id,
                           data_agreement_revision_hash=agreement_revision.serialized_hash, individual_id=individual.id,
                           opt_in=True, state=RecordState.unsigned.value)
    uow.session.add(record)
    uow.session.flush()
    first = revisions.append(uow.session, schema_name=records.RECORD, object_id=record.id, object_data=record_snapshot_data(record),
                             authorized_by_individual=individual.id, authorized_by_other=FIXTURE_AUTHOR)
    key = signing.service_key(settings.signing_key_path)
    signature = records.prepare_signature(verification_payload=first.serialized_snapshot, method=VerificationMethod.jws_service.value,
                                          signed_by_value=key.thumbprint(), signed_as="delegate", object_reference=first.id)
    signature.signature = signing.sign(signature.payload, key)
    signature.consent_record_id = record.id
    uow.session.add(signature)
    record.state, record.signature_id = RecordState.signed.value, signature.id
    uow.session.add(record)
    revisions.append(uow.session, schema_name=records.RECORD, object_id=record.id, object_data=record_snapshot_data(record),
                     authorized_by_individual=individual.id, authorized_by_other=FIXTURE_AUTHOR, predecessor_signature=signature.signature)


def load_demo(uow: UnitOfWork, settings: ConsentSettings) -> None:
    """One data agreement per bundled e-service, in Lao and English."""
    policy = _policy(uow, id=_demo_id("policy/personal-data"), version="1.0",
                     name="ນະໂຍບາຍຂໍ້ມູນສ່ວນບຸກຄົນຂອງລັດຖະບານດິຈິຕອນ / Digital Government Personal Data Policy",
                     url="https://digital.gov.la/privacy-policy/1.0", jurisdiction="LA", industry_sector="Public",
                     data_retention_period_days=3650, geographic_restriction="LA", storage_location="LA")
    _agreement(
        uow, policy=policy, id=_demo_id("agreement/enterprise-registration"), version="1.0",
        controller_id=_demo_id("controller/moic"), controller_name="ກະຊວງອຸດສາຫະກຳ ແລະ ການຄ້າ / Ministry of Industry and Commerce",
        controller_url="https://www.moic.gov.la",
        purpose="ລົງທະບຽນວິສາຫະກິດ ແລະ ອອກໃບທະບຽນວິສາຫະກິດ / Register the enterprise and issue its enterprise registration certificate",
        lawful_basis="public_task", data_use="data_source", dpia="https://digital.gov.la/dpia/enterprise-registration",
        active=True, forgettable=False, lifecycle="Complete",
        attributes=[
            {"name": "founder_name", "description": "ຊື່ຜູ້ກໍ່ຕັ້ງ / Founder's name", "sensitivity": "personal", "category": "identity"},
            {"name": "founder_id_number", "description": "ເລກບັດປະຈຳຕົວ / National ID number", "sensitivity": "personal", "category": "identity"},
            {"name": "enterprise_name", "description": "ຊື່ວິສາຫະກິດ / Enterprise name", "sensitivity": "public", "category": "enterprise"},
            {"name": "enterprise_address", "description": "ທີ່ຢູ່ວິສາຫະກິດ / Enterprise address", "sensitivity": "public", "category": "enterprise"},
        ])
    _agreement(
        uow, policy=policy, id=_demo_id("agreement/social-cash-transfer-payment"), version="1.0",
        controller_id=_demo_id("controller/molsw"), controller_name="ກະຊວງແຮງງານ ແລະ ສະຫວັດດີການສັງຄົມ / Ministry of Labour and Social Welfare",
        controller_url="https://www.molsw.gov.la",
        purpose="ແບ່ງປັນຂໍ້ມູນຂອງທ່ານກັບອົງການຈ່າຍເງິນ ເພື່ອຈ່າຍເງິນຊ່ວຍເຫຼືອ / Share your data with the paying agency so it can pay your cash transfer",
        lawful_basis="consent", data_use="data_using_service", dpia="https://digital.gov.la/dpia/social-cash-transfer",
        active=True, forgettable=True, lifecycle="Complete",
        attributes=[
            {"name": "beneficiary_name", "description": "ຊື່ຜູ້ຮັບຜົນປະໂຫຍດ / Beneficiary's name", "sensitivity": "personal", "category": "identity"},
            {"name": "phone_number", "description": "ເບີໂທລະສັບ / Phone number", "sensitivity": "personal", "category": "contact"},
            {"name": "payment_account", "description": "ບັນຊີຮັບເງິນ / Payment account", "sensitivity": "financial", "category": "payment"},
            {"name": "household_size", "description": "ຈຳນວນສະມາຊິກຄອບຄົວ / Household size", "sensitivity": "personal", "category": "household"},
        ])


FIXTURES: dict[str, FixtureLoader] = {"conformance": load_conformance, "demo": load_demo}
