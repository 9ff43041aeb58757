"""GovStack Identity BB."""
