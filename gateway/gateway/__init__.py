"""GovStack Information Mediator gateway."""
