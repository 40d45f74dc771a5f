"""Conditional requests: strong ETags from resource versions, and required ``If-Match``."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Response

from app.domain.errors import InvalidInput, PreconditionRequired

ETAG_PATTERN = r'^("v[0-9]{1,9}"|\*)$'
_ETAG = re.compile(r'^"v(\d{1,9})"$')


def etag_for(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag of the version being changed, e.g. `"v3"` (required).',
    ),
]


def expected_version(if_match: IfMatchHeader = None) -> int | None:
    """The version named by ``If-Match`` (428 without one; ``*`` matches any version)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "this change needs an If-Match header with the resource's current ETag",
            field="If-Match",
        )
    value = if_match.strip()
    if value == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise InvalidInput(
            'If-Match must be an ETag from this API, such as "v3", or *', field="If-Match"
        )
    return int(match.group(1))


#: The version a change is made against, from ``If-Match`` (a dependency).
ExpectedVersion = Annotated[int | None, Depends(expected_version)]
