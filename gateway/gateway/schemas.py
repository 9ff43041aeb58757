"""Wire shapes of the gateway API, mirroring its GovStack OpenAPI document."""
