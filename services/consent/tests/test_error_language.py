"""Error bodies carry `localizedMessage` in the caller's language: Lao or English, by Accept-Language."""
import ast
from pathlib import Path

import kernel
import pytest

from consent.error_messages_lo import BY_MESSAGE
from consent.errors import preferred_language

RAISERS = {"ApiError", "bad_request", "_unauthorized", "respond", "NotBound", "NotTheirs"}  # key_binding.py's refusals are answered as they are


def raised_messages(package: Path) -> set[str]:
    """Every constant message passed to an error constructor in a package, and the not_found texts."""
    messages = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            constants = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name == "not_found":
                messages |= {f"No {what} has this id." for what in constants}
            elif name in RAISERS:
                messages |= {text for text in constants if " " in text}  # the message, not the one-word code
    return messages


def test_every_error_message_of_consent_and_the_kernel_has_a_lao_text():
    messages = raised_messages(Path(__file__).parents[1] / "consent") | raised_messages(Path(kernel.__file__).parent)

    assert len(messages) > 40  # the scan found them
    assert sorted(messages - set(BY_MESSAGE)) == []


@pytest.mark.parametrize("header, language", [
    ("lo", "lo"), ("lo-LA,en;q=0.5", "lo"), ("en-US,lo;q=0.8", "en"), ("fr, lo;q=0.1", "lo"), ("fr", "en"), ("", "en"),
    ("lo;q=abc", "en"), ("LO-la", "lo"), ("*", "en"), ("en;q=0.2, lo;q=0.9", "lo"),
])
def test_the_preferred_supported_language_wins(header, language):
    assert preferred_language(header) == language


def test_an_unknown_id_is_explained_in_lao_when_asked(client):
    body = client.get("/service/policy/424242424242/", headers={"Accept-Language": "lo-LA,lo;q=0.9,en;q=0.5"}).json()

    assert body["errorDescription"] == "No policy has this id."
    assert body["localizedMessage"] == "ບໍ່ພົບນະໂຍບາຍທີ່ມີລະຫັດນີ້."


def test_the_localized_message_is_english_by_default(client):
    body = client.get("/service/policy/424242424242/").json()

    assert body["localizedMessage"] == body["errorDescription"] == "No policy has this id."


def test_validation_and_token_errors_are_in_lao_too(client):
    lao = {"Accept-Language": "lo"}

    invalid = client.get("/config/data-agreement/invalid_id/", headers=lao)
    unauthenticated = client.get("/config/webhooks/", headers=lao)

    assert (invalid.status_code, invalid.json()["localizedMessage"]) == (400, "ຄຳຮ້ອງຂໍບໍ່ຖືກຕ້ອງ.")
    assert (unauthenticated.status_code, unauthenticated.json()["localizedMessage"]) == (401, "ຕ້ອງມີໂທເຄັນ (bearer token).")


def _policy_with_a_long_version_and_no_url(client, admin, language: str) -> dict:
    response = client.post("/config/policy/", headers={**admin, "Accept-Language": language},
                           json={"policy": {"name": "A policy", "version": "x" * 101}})
    assert response.status_code == 400
    return {detail["field"]: detail for detail in response.json()["details"]}


def test_each_refused_field_is_explained_in_lao_when_asked(client, admin):
    details = _policy_with_a_long_version_and_no_url(client, admin, "lo")

    assert details["policy.version"]["localizedReason"] == "ຕ້ອງມີບໍ່ເກີນ 100 ຕົວອັກສອນ"
    assert details["policy.url"]["localizedReason"] == "ຕ້ອງມີຂໍ້ມູນນີ້"
    assert details["policy.version"]["reason"] == "must have at most 100 characters"  # English stays, as errorDescription does


def test_field_reasons_are_english_by_default(client, admin):
    details = _policy_with_a_long_version_and_no_url(client, admin, "fr")

    assert details["policy.version"]["localizedReason"] == details["policy.version"]["reason"] == "must have at most 100 characters"
    assert details["policy.url"]["localizedReason"] == "required"


def test_the_fast_paths_field_reasons_are_in_lao_too(client, verifier):
    response = client.get("/service/verification/consent-record/", headers={**verifier, "Accept-Language": "lo"},
                          params={"individualId": "not an id"})

    assert response.status_code == 400
    assert {d["field"]: d["localizedReason"] for d in response.json()["details"]} == {
        "individualId": "ຕ້ອງມີ ແລະ ຕ້ອງເປັນລະຫັດ (id) ທີ່ຖືກຕ້ອງ", "dataAgreementId": "ຕ້ອງມີ ແລະ ຕ້ອງເປັນລະຫັດ (id) ທີ່ຖືກຕ້ອງ"}


def test_every_field_reason_has_a_lao_text():
    from consent.field_reasons import BY_TYPE

    untranslated = [kind for kind, (english, lao) in BY_TYPE.items() if not lao or lao == english or lao.isascii()]

    assert untranslated == []
