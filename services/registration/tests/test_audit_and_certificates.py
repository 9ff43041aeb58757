"""The audit log of a file (staff only) and the signed certificate of an approved registration."""
import json

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from .api_client import enterprise_data, enterprise_document, unique


@pytest.fixture(scope="module")
def approved(api):
    document = enterprise_document()
    applicant, reviewer, file_id = api.submitted_file(document)
    registrar = api.token(sub=unique("registrar"), roles=document["roles"][1]["operator_roles"])
    api.decide(reviewer, api.open_task(reviewer, file_id)["taskId"], "approve", "Documents in order")
    api.decide(registrar, api.open_task(registrar, file_id)["taskId"], "approve", "Registered")
    return {"applicant": applicant, "reviewer": reviewer, "registrar": registrar, "file_id": file_id}


def test_audit_log_names_who_did_what_in_which_role(api, approved):
    log = api.call("GET", f"/applications/{approved['file_id']}/audit", expect=200, headers=approved["registrar"]).json()

    assert [(e["action"], e["roleId"], e["status"]) for e in log["entries"]] == [
        ("submitted", "", "PENDING"), ("approve", "reviewer", "PENDING"), ("approve", "registrar", "APPROVED")]
    assert len({e["actor"] for e in log["entries"]}) == 3 and log["entries"][2]["reason"] == "Registered"


def test_an_auditor_reads_any_audit_log(api, approved):
    api.call("GET", f"/applications/{approved['file_id']}/audit", expect=200, headers=api.token(sub=unique("auditor"), roles=["auditor"]))


def test_applicants_and_strangers_do_not_read_the_audit_log(api, approved):
    api.call("GET", f"/applications/{approved['file_id']}/audit", expect=403, headers=approved["applicant"])
    api.call("GET", f"/applications/{approved['file_id']}/audit", expect=404, headers=api.token(sub=unique("citizen")))
    api.call("GET", f"/applications/{unique('nofile')}/audit", expect=404, headers=api.token(roles=["auditor"]))


def test_the_certificate_verifies_with_the_published_key_and_states_the_registration(api, approved):
    response = api.call("GET", f"/applications/{approved['file_id']}/certificate", expect=200, headers=approved["applicant"])
    keys = KeySet.import_key_set(api.call("GET", "/certificates/keys", expect=200).json())

    body = response.json()
    checked = json.loads(jws.deserialize_compact(body["certificate"], keys.keys[0], algorithms=["ES256"]).payload)
    assert checked == body["record"] and checked["fileId"] == approved["file_id"]
    assert checked["registrationNumber"] == api.file(approved["applicant"], approved["file_id"]).json()["registrationNumber"]
    assert checked["serviceName"] == {"en": "Enterprise registration", "lo": "ການຈົດທະບຽນວິສາຫະກິດ"}
    assert response.headers["content-disposition"] == f'attachment; filename="{checked["registrationNumber"]}.json"'
    assert all("d" not in key for key in api.call("GET", "/certificates/keys", expect=200).json()["keys"])  # public half only


def test_an_operator_of_the_file_may_download_it_but_another_applicant_may_not(api, approved):
    api.call("GET", f"/applications/{approved['file_id']}/certificate", expect=200, headers=approved["registrar"])
    api.call("GET", f"/applications/{approved['file_id']}/certificate", expect=404, headers=api.token(sub=unique("citizen")))


def test_a_pending_file_has_no_certificate(api):
    applicant, _, file_id = api.submitted_file()

    assert api.call("GET", f"/applications/{file_id}/certificate", expect=409, headers=applicant).json()["code"] == "no_certificate"


def test_an_operators_certificate_states_only_the_fields_their_roles_may_see(api, approved):
    def certified(headers) -> dict:
        return api.call("GET", f"/applications/{approved['file_id']}/certificate", expect=200, headers=headers).json()["record"]["data"]

    reviewer, registrar, applicant = certified(approved["reviewer"]), certified(approved["registrar"]), certified(approved["applicant"])

    # The reviewer sees public, internal and personal fields; the owner's ID number is sensitive_personal.
    assert "owner_id_number" not in reviewer and reviewer["owner_name"] == "Somphone Keomany"
    assert reviewer == api.file(approved["reviewer"], approved["file_id"]).json()["applicationData"]["formData"]["data"]
    assert registrar["owner_id_number"] == "LA-123456"
    assert applicant == enterprise_data()
