"""Writes the README's service-specific settings from the settings classes, so the documented variables are the ones read."""
import importlib
import sys
from pathlib import Path

from kernel.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"gateway": "GatewaySettings", "identity": "IdentitySettings", "registration": "RegistrationSettings",
            "consent": "ConsentSettings", "messaging": "MessagingSettings", "web": "WebSettings"}
START, END = "<!-- service settings: start -->", "<!-- service settings: end -->"


def render() -> str:
    lines = [START, "", "Service-specific settings (generated from the settings classes by",
             "`.venv/bin/python deploy/local/configuration_doc.py`; a test keeps them current):", "",
             "| service | variable | default |", "|---|---|---|"]
    for package, class_name in SERVICES.items():
        settings_cls = getattr(importlib.import_module(f"{package}.settings"), class_name)
        for name, field in settings_cls.model_fields.items():
            if name in ServiceSettings.model_fields:
                continue
            default = field.default if field.default_factory is None else field.default_factory()
            secret = isinstance(default, str) and any(word in name for word in ("secret", "password", "jwk", "token", "private"))
            shown = "(secret: set in production)" if secret else f"`{default}`" if len(str(default)) <= 60 else "(see the settings class)"
            lines.append(f"| {package} | `{name.upper()}` | {shown} |")
    return "\n".join(lines + ["", END])


def current(readme: str) -> str:
    return readme[readme.index(START):readme.index(END) + len(END)]


if __name__ == "__main__":
    readme = (ROOT / "README.md").read_text()
    (ROOT / "README.md").write_text(readme.replace(current(readme), render()))
    sys.exit(0)
