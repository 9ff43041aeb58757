"""GovStack Consent BB."""
