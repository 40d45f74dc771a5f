"""GraphQL object types, one module per aggregate; each wraps a domain row or view."""
