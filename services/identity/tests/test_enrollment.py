import httpx
import pytest
from sqlmodel import Session, select

from kernel.outbox import OutboxMessage
from identity import uin
from identity.models import Person
from .helpers import enrol_person, login_and_consent, register_client, request_time, unique


@pytest.fixture(scope="module")
def headers(admin_token):
    return {"Authorization": f"Bearer {admin_token}"}


def _put(base_url, headers, request: dict):
    return httpx.put(f"{base_url}/enrollment", headers=headers, json={"id": "govstack.enrollment", "version": "v1",
                                                                      "requesttime": request_time(), "request": request})


def test_single_step_enrolment_gives_a_uin_with_a_valid_check_digit(base_url, admin_token):
    person = enrol_person(base_url, admin_token)

    assert uin.is_valid(person["uin"]) and len(person["uin"]) == 10


def test_enrolment_reply_has_the_packet_shape_with_a_signed_hash(base_url, headers):
    response = _put(base_url, headers, {"id": unique("enr"), "process": "NEW", "source": "REGISTRATION_CLIENT",
                                        "fields": {"fullName": "Test Person"}})

    assert response.status_code == 201
    packet = response.json()["response"][0]
    assert {"id", "packetName", "source", "process", "refId", "schemaVersion", "signature", "encryptedHash", "providerName",
            "providerVersion", "creationDate"} <= packet.keys()
    assert response.json()["errors"] == []


def test_multi_step_enrolment_keeps_earlier_data_and_completes_on_finalize(base_url, headers):
    enrollment_id = unique("enr")
    first = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "fields": {"fullName": "Step Person", "gender": "F"}})
    second = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "fields": {"dateOfBirth": "1985/05/05"}})
    pending = httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).json()

    final = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "finalize": True})
    done = httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).json()

    assert (first.status_code, second.status_code, final.status_code) == (201, 200, 200)
    assert pending["status"] == "pending" and pending["uin"] is None
    assert pending["fields"] == {"fullName": "Step Person", "gender": "F", "dateOfBirth": "1985/05/05"}
    assert done["status"] == "completed" and uin.is_valid(done["uin"])


def test_completed_enrolment_cannot_change(base_url, admin_token, headers):
    person = enrol_person(base_url, admin_token)

    response = _put(base_url, headers, {"id": person["enrollment_id"], "process": "NEW", "fields": {"gender": "M"}})

    assert response.status_code == 409
    assert response.json()["errors"][0]["errorCode"] == "enrollment_completed"


def test_update_enrolment_changes_attributes_and_keeps_history(base_url, admin_token, headers):
    person = enrol_person(base_url, admin_token)

    response = _put(base_url, headers, {"id": unique("upd"), "process": "UPDATE", "finalize": True,
                                        "fields": {"UIN": person["uin"], "phone": "+856209999999"}})
    history = httpx.get(f"{base_url}/persons/{person['person_id']}/history", headers=headers).json()

    assert response.status_code == 201
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["attributes"]["phone_number"] == "+856201234567"
    assert history[1]["attributes"]["phone_number"] == "+856209999999"


def test_enrolment_events_carry_ids_only(base_url, admin_token, engine):
    person = enrol_person(base_url, admin_token)

    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.subject == person["person_id"])).all()

    assert [row.type for row in rows] == ["identity.person.enrolled"]
    assert rows[0].data == {"person_id": person["person_id"], "enrollment_id": person["enrollment_id"]}


@pytest.mark.parametrize("request_body", [{"process": "NEW"}, {"id": "x", "process": "MERGE"}, {"id": "x", "fields": "a"},
                                          {"id": "x", "finalize": "yes"}])
def test_malformed_enrolment_is_a_400_in_the_spec_shape(base_url, headers, request_body):
    response = _put(base_url, headers, request_body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["errorCode"] == "invalid_request"


@pytest.mark.parametrize("field, value", [
    ("fullName", 5), ("fullName", [1, 2]), ("fullName", True), ("fullName", {"lo": 5}), ("fullName", '[{"language": "eng", "value": 5}]'),
    ("fullName", [{"language": "eng", "value": ["Noy"]}]), ("phone", 8562012345), ("city", ["Vientiane"]),
])
def test_a_claim_field_that_is_not_text_is_refused_naming_the_field(base_url, headers, field, value):
    enrollment_id = unique("enr")
    fields = {"fullName": "Noy Phommavong", field: value}

    response = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "fields": fields, "finalize": True})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["errorCode"] == "invalid_request"
    assert f"fields.{field}" in response.json()["errors"][0]["message"]
    assert httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).status_code == 404


def test_names_as_text_per_language_are_accepted(base_url, headers, engine):
    enrollment_id = unique("enr")
    fields = {"fullName": [{"language": "lao", "value": "ນ້ອຍ"}, {"language": "eng", "value": "Noy"}], "givenName": {"en": "Noy"}}

    response = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "fields": fields, "finalize": True})

    assert response.status_code == 201, response.text
    person_id = httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).json()["personId"]
    with Session(engine) as session:
        attributes = session.get(Person, person_id).attributes
    assert (attributes["name"], attributes["given_name"]) == ({"lo": "ນ້ອຍ", "en": "Noy"}, {"en": "Noy"})


def test_completing_a_new_enrolment_without_a_name_is_refused_and_stores_nothing(base_url, headers):
    enrollment_id = unique("enr")

    response = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "fields": {"gender": "F"}, "finalize": True})

    assert response.status_code == 400
    assert httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).status_code == 404


def test_an_address_field_given_as_an_empty_object_is_left_out(base_url, headers, engine):
    enrollment_id = unique("enr")

    response = _put(base_url, headers, {"id": enrollment_id, "process": "NEW", "finalize": True,
                                        "fields": {"fullName": "Noy Phommavong", "city": {}, "province": "Vientiane"}})

    assert response.status_code == 201, response.text
    person_id = httpx.get(f"{base_url}/enrollment/{enrollment_id}", headers=headers).json()["personId"]
    with Session(engine) as session:
        assert session.get(Person, person_id).attributes["address"] == {"region": "Vientiane"}

def test_enrolment_needs_an_operator_token(base_url, oidc_issuer):
    token = oidc_issuer.token(audience="identity", roles=["auditor"])

    response = httpx.put(f"{base_url}/enrollment", headers={"Authorization": f"Bearer {token}"}, json={})

    assert response.status_code == 403


class TestVirtualIds:
    def test_a_person_can_sign_in_with_a_virtual_id(self, base_url, admin_token, headers):
        person = enrol_person(base_url, admin_token)
        client_id, _ = register_client(base_url, admin_token)
        vid = httpx.post(f"{base_url}/persons/{person['person_id']}/vids", headers=headers).json()["vid"]

        with httpx.Client(base_url=base_url) as browser:
            callback = login_and_consent(browser, client_id, {**person, "uin": vid})

        assert uin.is_valid(vid) and len(vid) == 16
        assert "code" in callback

    def test_a_revoked_virtual_id_no_longer_signs_in(self, base_url, admin_token, headers):
        person = enrol_person(base_url, admin_token)
        client_id, _ = register_client(base_url, admin_token)
        vid = httpx.post(f"{base_url}/persons/{person['person_id']}/vids", headers=headers).json()["vid"]

        revoked = httpx.delete(f"{base_url}/persons/{person['person_id']}/vids/{vid}", headers=headers)
        with httpx.Client(base_url=base_url) as browser:
            page = browser.get("/authorize", params={"client_id": client_id, "redirect_uri": "https://rp.example.la/callback",
                                                     "response_type": "code", "scope": "openid"})
            transaction_id = page.text.split('name="transaction_id" value="')[1].split('"')[0]
            login = browser.post("/authorize/login", data={"transaction_id": transaction_id, "individual_id": vid, "pin": person["pin"]})

        assert revoked.json() == {"vid": vid, "status": "revoked"}
        assert login.status_code == 401
