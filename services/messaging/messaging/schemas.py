"""Wire shapes of the messaging API, mirroring its GovStack OpenAPI document."""
