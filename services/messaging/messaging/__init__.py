"""GovStack Messaging BB."""
