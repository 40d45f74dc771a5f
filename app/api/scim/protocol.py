"""The HTTP side of SCIM shared by the endpoints: reading bodies, answering messages, entity
tags and the query parameters of lists."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import Request
from scim2_models import Context, ResponseParameters
from starlette.datastructures import QueryParams
from starlette.responses import Response

from app.api.scim.errors import ScimError, ScimResponse, invalid_syntax, invalid_value
from app.api.scim.models import DEFAULT_COUNT, MAX_RESULTS, SEARCH_REQUEST, ScimUser
from app.api.scim.quirks import qualify
from app.domain.errors import PreconditionFailed

_JSON_TYPES: Final = frozenset({"application/scim+json", "application/json"})
_ENTITY_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*')
#: How deep a body's objects and arrays may nest. The deepest SCIM message (a PatchOp setting an
#: extension's manager) needs 7 levels; every level costs stack in whatever reads the body next.
MAX_JSON_DEPTH: Final = 32
#: The largest startIndex answered: a 32-bit integer, past any directory yet within what SQL
#: OFFSET and every JSON client hold. RFC 7644 lets a server cap count, not startIndex.
MAX_START_INDEX: Final = 2**31 - 1
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object a request carries (``application/scim+json`` or ``application/json``)."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in _JSON_TYPES:
            raise ScimError(
                415, f"send application/scim+json or application/json, not {media_type}"
            )
    raw = await request.body()
    if not raw.strip():
        raise invalid_syntax("the request needs a JSON body")
    try:
        payload = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        # Python's decoder recurses once per level: a body nested a thousand deep exhausts
        # the stack before any depth can be checked.
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_syntax(f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise invalid_syntax("the body must be a JSON object")
    if _nests_deeper(payload, MAX_JSON_DEPTH):
        raise _too_deep()
    return payload


def require_schema(payload: dict[str, Any], schema: str) -> None:
    """Refuse a message whose ``schemas`` does not name ``schema`` (RFC 7643 section 3 makes
    ``schemas`` required): invalidSyntax, the body not being the message the endpoint reads.

    Used for PatchOp and SearchRequest; a User body may leave ``schemas`` out (see ``_user``
    in :mod:`app.api.scim.users`)."""
    schemas = payload.get("schemas")
    if not isinstance(schemas, list) or schema.lower() not in {str(s).lower() for s in schemas}:
        raise invalid_syntax(f"schemas must hold {schema}")


def _too_deep() -> ScimError:
    return invalid_syntax(
        f"the body nests JSON objects and arrays more than {MAX_JSON_DEPTH} levels deep"
    )


def _not_json(constant: str) -> Any:
    """Refuse ``NaN`` and ``Infinity``: Python's decoder reads them, RFC 8259 has no such
    numbers, and no attribute could hold them."""
    raise ValueError(f"{constant} is not a JSON value")


def _nests_deeper(payload: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels, the payload being level 1.

    Walked level by level rather than recursively, so the check cannot exhaust the stack."""
    level = [payload]
    for _ in range(limit):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def message(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A SCIM message response."""
    return ScimResponse(body, status_code=status, headers=headers)


def dump(resource: Any, parameters: ResponseParameters[Any] | None = None) -> dict[str, Any]:
    """A resource or message as JSON, with only the attributes the client asked for."""
    body: dict[str, Any] = resource.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
    )
    return body


def expected_version(request: Request, current: int, tag: str) -> int | None:
    """The version ``If-Match`` holds a write to: ``current`` when the header names the
    resource's entity tag ``tag`` (412 when it names another).

    ``If-Match`` is optional in SCIM (Okta and Entra ID never send it); ``*`` matches any
    version. Tags compare by their value whether sent weak or strong, as SCIM clients echo the
    weak tag they were given.
    """
    header = request.headers.get("if-match")
    if header is None or not header.strip():
        return None
    if header.strip() == "*":
        return None
    tags = {m.group(1) for part in header.split(",") if (m := _ENTITY_TAG.fullmatch(part))}
    if tag not in tags:
        raise PreconditionFailed(
            f'If-Match does not name the current version (W/"{tag}"); fetch the user again'
        )
    return current


def not_modified(request: Request, tag: str) -> bool:
    """Whether ``If-None-Match`` names the entity tag ``tag`` (a GET then answers 304)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {m.group(1) for part in header.split(",") if (m := _ENTITY_TAG.fullmatch(part))}
    return header.strip() == "*" or tag in tags


def _integer(name: str, value: Any) -> int | None:
    """A paging number from a query string (text) or a SearchRequest (a JSON number or text).

    RFC 7643 integers have no fraction or exponent, so ``1.5``, ``2.0`` and ``1e3`` are refused
    alike in a query string and in a body (``float()`` and ``int()`` would round some of them,
    overflow on others)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts
            pass
    shown = f", not {value!r}" if isinstance(value, str | float) and len(repr(value)) <= 40 else ""
    raise invalid_value(f"{name} must be an integer{shown}")


def _names(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_value(f"{name} must be a list of attribute names")
    return [qualify(v) for v in value if v.strip()]


def response_parameters(
    attributes: Any = None, excluded: Any = None
) -> ResponseParameters[Any] | None:
    """``attributes`` / ``excludedAttributes`` (id and schemas are always returned)."""
    included, left_out = _names("attributes", attributes), _names("excludedAttributes", excluded)
    if not included and not left_out:
        return None
    if included and left_out:
        raise invalid_value("send attributes or excludedAttributes, not both")
    try:
        return ResponseParameters[ScimUser](
            attributes=included or None, excluded_attributes=left_out or None
        )
    except ValueError as exc:
        raise invalid_value(f"invalid attribute list: {exc}") from None


def query_parameters(request: Request) -> ResponseParameters[Any] | None:
    """The ``attributes`` / ``excludedAttributes`` query parameters of a request."""
    params = _folded(request.query_params)
    return response_parameters(params.get("attributes"), params.get("excludedattributes"))


@dataclass(frozen=True)
class ListQuery:
    """What a list or ``.search`` asks for (RFC 7644 section 3.4.2)."""

    filter: str | None = None
    start_index: int = 1
    count: int = DEFAULT_COUNT
    sort_by: str | None = None
    descending: bool = False
    parameters: ResponseParameters[Any] | None = field(default=None)

    @classmethod
    def build(cls, values: dict[str, Any]) -> ListQuery:
        """From query parameters or a SearchRequest, keyed by lower-cased name."""
        start = _integer("startIndex", values.get("startindex"))
        if start is not None and start > MAX_START_INDEX:
            raise invalid_value(f"startIndex must be at most {MAX_START_INDEX}")
        count = _integer("count", values.get("count"))
        order = values.get("sortorder")
        if order is not None and (
            not isinstance(order, str) or order.lower() not in ("ascending", "descending")
        ):
            raise invalid_value("sortOrder must be 'ascending' or 'descending'")
        text = values.get("filter")
        sort_by = values.get("sortby")
        if text is not None and not isinstance(text, str):
            raise invalid_value("filter must be a string")
        if sort_by is not None and not isinstance(sort_by, str):
            raise invalid_value("sortBy must be a string")
        return cls(
            filter=text if text and text.strip() else None,
            # RFC 7644: a startIndex below 1 is 1, a negative count 0; the page is capped.
            start_index=max(1, start if start is not None else 1),
            count=min(MAX_RESULTS, max(0, count if count is not None else DEFAULT_COUNT)),
            sort_by=sort_by.strip() if sort_by and sort_by.strip() else None,
            descending=isinstance(order, str) and order.lower() == "descending",
            parameters=response_parameters(
                values.get("attributes"), values.get("excludedattributes")
            ),
        )

    @classmethod
    def from_request(cls, request: Request) -> ListQuery:
        """From the query string of a GET."""
        return cls.build(_folded(request.query_params))

    @classmethod
    def from_search(cls, body: dict[str, Any]) -> ListQuery:
        """From the SearchRequest of a POST ``.search``."""
        require_schema(body, SEARCH_REQUEST)
        return cls.build({k.lower(): v for k, v in body.items() if k.lower() != "schemas"})


def _folded(params: QueryParams) -> dict[str, str]:
    # Parameter names are matched without case, as attribute names are.
    return {name.lower(): value for name, value in params.items()}
