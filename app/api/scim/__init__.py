"""SCIM 2.0 (RFC 7643 / RFC 7644) adapter: filter parsing and translation to SQL."""
