"""existing_engine: operator commands name a missing database or table plainly, and leave no empty SQLite file behind."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from kernel.db import existing_engine, make_engine
from kernel.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path):
    settings = ServiceSettings(service_name="gateway", data_dir=tmp_path / "nowhere")

    with pytest.raises(SystemExit, match="no database at sqlite:///.*nowhere"):
        existing_engine(settings, "message_log")

    assert not (tmp_path / "nowhere").exists()


def test_a_database_without_the_table_is_named(tmp_path):
    settings = ServiceSettings(service_name="gateway", data_dir=tmp_path)
    with make_engine(settings).begin() as connection:  # a database, but not the gateway's
        connection.execute(text("CREATE TABLE other (id INTEGER)"))

    with pytest.raises(SystemExit, match="has no message_log table"):
        existing_engine(settings, "message_log")


def test_a_missing_postgres_database_is_named_without_its_password(infrastructure):
    url = infrastructure.new_database("existing").rsplit("/", 1)[0].replace("://postgres@", "://postgres:s3cret@")
    settings = ServiceSettings(database_url=f"{url}/missing_{uuid.uuid4().hex[:8]}")

    with pytest.raises(SystemExit) as exited:
        existing_engine(settings, "message_log")

    assert "cannot open the database" in str(exited.value) and "s3cret" not in str(exited.value)


def test_the_table_present_gives_the_engine(infrastructure):
    settings = ServiceSettings(database_url=infrastructure.new_database("existing"))
    with make_engine(settings).begin() as connection:
        connection.execute(text("CREATE TABLE message_log (id INTEGER)"))

    assert existing_engine(settings, "message_log").dialect.name == "postgresql"


@pytest.mark.parametrize("command", [["gateway.messagelog", "verify"], ["consent.audit", "verify"]])
def test_verify_commands_pointed_at_nothing_say_so_without_a_traceback(tmp_path, command):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}

    result = subprocess.run([sys.executable, "-m", *command], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert result.returncode == 1 and "no database at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
