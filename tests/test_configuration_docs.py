"""The README documents every variable the services read."""
import importlib.util
import re
from pathlib import Path

from kernel.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location("configuration_doc", ROOT / "deploy/local/configuration_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_service_settings_in_readme_are_current():
    generator = load_generator()
    assert generator.current((ROOT / "README.md").read_text()) == generator.render(), \
        "run: .venv/bin/python deploy/local/configuration_doc.py"


def test_readme_documents_every_common_setting():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))

    missing = {name.upper() for name in ServiceSettings.model_fields} - documented

    assert not missing
