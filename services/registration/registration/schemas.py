"""Wire shapes of the registration API, mirroring its GovStack OpenAPI document."""
