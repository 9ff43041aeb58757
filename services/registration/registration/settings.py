"""Settings of the registration service (environment variables; see the README's table)."""
from pathlib import Path

from pydantic import model_validator

from kernel.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    port: int = 8002
    documents_dir: Path | None = None  # empty: <data_dir>/registration-documents
    max_document_bytes: int = 10 * 1024 * 1024  # the ceiling; a service's document types may set lower limits
    # Uploads not yet tied to a service's document type must be one of these (sniffed, not declared).
    default_document_types: list[str] = ["application/pdf", "image/png", "image/jpeg"]
    admin_roles: list[str] = ["admin"]
    registry_readers: list[str] = ["registry.read"]  # roles or scopes that may read the registry

    @model_validator(mode="after")
    def _documents_under_data_dir(self):
        if self.documents_dir is None:
            self.documents_dir = self.data_dir / "registration-documents"
        return self
