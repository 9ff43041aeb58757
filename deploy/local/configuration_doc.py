"""Writes docs/configuration.md from the settings classes, so the documented variables are exactly the ones read."""
import importlib
import sys
from pathlib import Path

from kernel.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"gateway": "GatewaySettings", "identity": "IdentitySettings", "registration": "RegistrationSettings",
            "consent": "ConsentSettings", "messaging": "MessagingSettings"}


def render() -> str:
    lines = ["# Service-specific settings", "",
             "Generated from the settings classes by `python deploy/local/configuration_doc.py`; a test keeps it current.",
             "The variables every service reads are in the README's configuration table.", ""]
    for package, class_name in SERVICES.items():
        settings_cls = getattr(importlib.import_module(f"{package}.settings"), class_name)
        lines += [f"## {package}", "", "| variable | default |", "|---|---|"]
        for name, field in settings_cls.model_fields.items():
            if name in ServiceSettings.model_fields:
                continue
            default = field.default if field.default_factory is None else field.default_factory()
            shown = "(secret: set in production)" if "secret" in name or "password" in name else f"`{default}`"
            lines.append(f"| `{name.upper()}` | {shown} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    (ROOT / "docs" / "configuration.md").write_text(render())
    sys.exit(0)
