"""Wire shapes of the consent API, mirroring its GovStack OpenAPI document."""
