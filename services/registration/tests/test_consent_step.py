"""The require_consent step: registration asks the Consent BB through the gateway, with its own service token from the
Identity BB, before it accepts an application. Identity, gateway, consent and registration all run for real; the
Consent BB holds GovStack's conformance data: individual 1 has a signed, opted-in record for data agreement 1."""
import pytest
from sqlmodel import Session, func, select

from consent.app import create_app as create_consent
from consent.settings import ConsentSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from identity import service_accounts
from identity.app import create_app as create_identity
from identity.settings import IdentitySettings
from kernel.db import make_engine
from kernel.outbox import OutboxMessage
from kernel.testing import free_port, serve
from registration.app import create_app as create_registration
from registration.models import ApplicationFile
from registration.settings import DEV_SERVICE_PUBLIC_JWK, RegistrationSettings
from .api_client import IM, Api, enterprise_data, enterprise_document

CONSENTED, NOT_CONSENTED = "1", "2"  # individual ids of the Consent BB's conformance data
AGREEMENT = "1"


@pytest.fixture(scope="module")
def suite(infrastructure, oidc_issuer, tmp_path_factory):
    """Registration (and a twin whose gateway is down) behind a real gateway, consent and identity."""
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    identity = IdentitySettings(database_url=infrastructure.new_database("consent_step_identity"),
                                amqp_url=infrastructure.new_vhost("consent_step_identity"), port=identity_port, public_url=identity_url,
                                oidc_issuers=[oidc_issuer.url], environment="test")
    consent = ConsentSettings(database_url=infrastructure.new_database("consent_step_consent"),
                              amqp_url=infrastructure.new_vhost("consent_step_consent"), oidc_issuers=[identity_url],
                              environment="test", fixtures="conformance", data_dir=tmp_path_factory.mktemp("consent-step-consent"))
    with serve(create_identity(identity), port=identity_port), serve(create_consent(consent)) as consent_url:
        engine = make_engine(identity)
        with Session(engine) as session:
            # What an administrator registers for the Registration BB: its public key and the verifier role.
            service_accounts.upsert(session, client_id="registration-bb", name="Registration BB", public_key=DEV_SERVICE_PUBLIC_JWK,
                                    scopes=[], roles=["verifier"])
            session.commit()
        engine.dispose()
        # The gateway forwards the caller's token, so it accepts tokens meant for the building blocks behind it.
        gateway = GatewaySettings(database_url=infrastructure.new_database("consent_step_gateway"),
                                  amqp_url=infrastructure.new_vhost("consent_step_gateway"), oidc_issuers=[identity_url],
                                  oidc_audience=["gateway", "consent"], consent_url=consent_url, environment="test")
        with serve(create_gateway(gateway)) as gateway_url:
            registration = RegistrationSettings(database_url=infrastructure.new_database("consent_step_registration"),
                                                amqp_url=infrastructure.new_vhost("consent_step_registration"),
                                                oidc_issuers=[oidc_issuer.url], environment="test", identity_url=identity_url,
                                                gateway_url=gateway_url, data_dir=tmp_path_factory.mktemp("consent-step-registration"))
            unreachable = registration.model_copy(update={"gateway_url": f"http://127.0.0.1:{free_port()}"})  # nothing listens
            with serve(create_registration(registration)) as registration_url, serve(create_registration(unreachable)) as cut_off_url:
                engine = make_engine(registration)
                yield Api(registration_url, oidc_issuer), Api(cut_off_url, oidc_issuer), engine
                engine.dispose()


@pytest.fixture(scope="module")
def service_id(suite) -> str:
    api = suite[0]
    steps = [{"type": "require_signed_in_citizen"}, {"type": "require_consent", "agreement_id": AGREEMENT}]
    return api.publish(enterprise_document(steps=steps))["id"]


def stored_for(engine, applicant: str) -> tuple[int, int]:
    """Application files (drafts included) of this applicant, and all outbox rows."""
    with Session(engine) as session:
        files = session.exec(select(func.count()).select_from(ApplicationFile).where(ApplicationFile.applicant_id == applicant)).one()
        return files, session.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_applicant_who_consented_is_accepted(suite, service_id):
    api, _, _ = suite

    file = api.submit(service_id, api.token(sub=CONSENTED), enterprise_data()).json()

    assert file["status"]["code"] == "PENDING" and file["applicationData"]["applicantId"] == CONSENTED


def test_applicant_without_consent_is_refused_naming_the_agreement_and_nothing_is_stored(suite, service_id):
    api, _, engine = suite
    before = stored_for(engine, NOT_CONSENTED)

    refused = api.submit(service_id, api.token(sub=NOT_CONSENTED), enterprise_data(), expect=403).json()

    assert refused["code"] == "consent_required" and AGREEMENT in refused["message"]
    assert refused["details"] == [{"field": "dataAgreementId", "reason": f"no valid consent to data agreement {AGREEMENT}",
                                   "dataAgreementId": AGREEMENT}]
    assert refused["localizedMessage"].startswith("ກະລຸນາໃຫ້ຄວາມຍິນຍອມ")  # Lao next to the English message
    assert stored_for(engine, NOT_CONSENTED) == before


def test_an_agreement_the_consent_bb_does_not_know_is_refused(suite):
    api, _, engine = suite
    steps = [{"type": "require_consent", "agreement_id": "999999"}]
    service_id = api.publish(enterprise_document(steps=steps))["id"]

    refused = api.submit(service_id, api.token(sub=CONSENTED), enterprise_data(), expect=403).json()

    assert refused["code"] == "consent_required" and "999999" in refused["message"]


def test_draft_submission_checks_consent_and_the_draft_stays_a_draft(suite, service_id):
    api, _, _ = suite
    applicant = api.token(sub=NOT_CONSENTED)
    draft = api.call("POST", f"/services/{service_id}/drafts", expect=201, headers=applicant,
                     json={"formData": {"data": enterprise_data(), "eFormId": "ler-application"}}).json()

    api.call("POST", f"/drafts/{draft['fileId']}/submit", expect=403, headers=applicant, json={"confirm": True})

    assert api.call("GET", f"/drafts/{draft['fileId']}", expect=200, headers=applicant).json()["status"]["code"] == "DRAFT"


def test_consent_bb_unreachable_is_a_503_and_nothing_is_stored(suite, service_id):
    # The Consent BB itself runs; only the gateway this twin is configured with does not, so the check goes through it.
    _, cut_off, engine = suite
    before = stored_for(engine, CONSENTED)

    refused = cut_off.submit(service_id, cut_off.token(sub=CONSENTED), enterprise_data(), expect=503).json()

    assert refused["code"] == "consent_unavailable" and refused["localizedMessage"] != refused["message"]
    assert stored_for(engine, CONSENTED) == before


def test_consent_is_checked_again_when_a_sent_back_file_is_corrected(suite, service_id):
    api, cut_off, _ = suite
    applicant = api.token(sub=CONSENTED)
    file_id = api.submit(service_id, applicant, enterprise_data()).json()["fileId"]
    document = api.call("GET", f"/designer/services/{service_id}", expect=200, headers=api.designer()).json()["document"]
    reviewer = api.token(sub="reviewer-1", roles=document["roles"][0]["operator_roles"])
    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "send_back", "Please check the district")
    correction = {"formData": {"data": enterprise_data(district="Xaysetha"), "eFormId": "ler-application"}}

    cut_off.call("PUT", f"/applications/{file_id}", expect=503, headers={**applicant, **IM}, json=correction)
    still = api.file(applicant, file_id).json()
    corrected = api.call("PUT", f"/applications/{file_id}", expect=200, headers={**applicant, **IM}, json=correction).json()

    assert still["status"]["code"] == "SENDBACK" and still["applicationData"]["formData"]["data"]["district"] == "Sisattanak"
    assert corrected["status"]["code"] == "PENDING"



def test_form_errors_are_answered_before_consent_is_asked(suite, service_id):
    # The applicant fixes the form first; the Consent BB is asked only about a submission that could be accepted.
    _, cut_off, _ = suite

    refused = cut_off.submit(service_id, cut_off.token(sub=NOT_CONSENTED), enterprise_data(district="Pakse"), expect=400).json()

    assert refused["code"] == "invalid_form_data"
