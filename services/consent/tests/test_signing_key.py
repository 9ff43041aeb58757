"""The service's delegate signing key file (SIGNING_KEY_FILE): created once, shared by every process."""
import json
import subprocess
import sys
import threading

from consent import signing


def test_processes_creating_the_key_at_once_end_up_with_one_key(tmp_path):
    path = tmp_path / "keys" / "consent-signing-key.json"
    creators = [threading.Thread(target=signing._create_key_file, args=(path,)) for _ in range(8)]

    for creator in creators:
        creator.start()
    for creator in creators:
        creator.join()

    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left behind
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["crv"] == "P-256"


def test_an_existing_key_file_is_used_as_is(tmp_path):
    path = tmp_path / "mounted-secret.json"
    path.write_text(signing.new_key_json())

    key = signing.service_key(path)

    assert key.as_dict(private=True) == json.loads(path.read_text())


def test_new_key_prints_a_private_p256_jwk():
    printed = subprocess.run([sys.executable, "-m", "consent.signing", "new-key"], capture_output=True, text=True, check=True).stdout

    jwk = json.loads(printed)
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256") and "d" in jwk
