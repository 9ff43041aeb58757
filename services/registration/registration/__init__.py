"""GovStack Registration BB."""
