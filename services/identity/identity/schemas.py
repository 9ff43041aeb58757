"""Wire shapes of the identity API, mirroring its GovStack OpenAPI document."""
