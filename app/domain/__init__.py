"""Business rules. Nothing here knows about HTTP, GraphQL or any web framework."""
