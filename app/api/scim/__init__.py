"""SCIM 2.0 (RFC 7643 / RFC 7644) provisioning at ``/scim/v2``: Users mapped onto employees,
the discovery documents, filters translated to SQL, and the identity providers' quirks."""
