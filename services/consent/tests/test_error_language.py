"""Error bodies carry `localizedMessage` in the caller's language: Lao or English, by Accept-Language."""
import ast
from pathlib import Path

import kernel
import pytest

from consent.error_messages_lo import BY_MESSAGE
from consent.errors import preferred_language

RAISERS = {"ApiError", "bad_request", "_unauthorized", "respond"}


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
