"""Inputs at the edges a black-box audit found: filters and bodies nested deep enough to exhaust
the Python stack, numbers too large for the database, date-times at the ends of the calendar.
Each one is a 400 SCIM error naming what is wrong (or a correct answer), never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.api.scim.conftest import (
    REVMENTOR,
    assert_scim_error,
    create_user,
    headers,
    okta_user,
)
from tests.factories import Factory, Service

SEARCH = "/scim/v2/Users/.search"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


async def _get(client: httpx.AsyncClient, idp: Service, **params: str) -> httpx.Response:
    return await client.get("/scim/v2/Users", headers=headers(idp), params=params)


async def _search(client: httpx.AsyncClient, idp: Service, body: dict[str, Any]) -> httpx.Response:
    return await client.post(
        SEARCH, headers=headers(idp), json={"schemas": [SEARCH_REQUEST], **body}
    )


async def _both_ways(
    client: httpx.AsyncClient, idp: Service, name: str, value: Any
) -> list[httpx.Response]:
    """The same parameter sent in a GET query string and in a ``.search`` body."""
    as_text = value if isinstance(value, str) else str(value)
    return [await _get(client, idp, **{name: as_text}), await _search(client, idp, {name: value})]


@pytest.fixture
async def three(factory: Factory) -> list[uuid.UUID]:
    """Three people, at job levels 1 to 3."""
    return [
        (await factory.employee(email=f"p{level}@example.com", job_level=level)).id
        for level in (1, 2, 3)
    ]


# --- filters nested too deep ---------------------------------------------------------------

DEEP_FILTERS = {
    "parentheses": "(" * 400 + 'userName eq "a"' + ")" * 400,
    "not": "not (" * 400 + 'userName eq "a"' + ")" * 400,
    "value filter": "emails[" + "(" * 400 + 'value eq "a"' + ")" * 400 + "]",
    "51 levels": "(" * 51 + "userName pr" + ")" * 51,
}


@pytest.mark.parametrize("text", DEEP_FILTERS.values(), ids=DEEP_FILTERS.keys())
async def test_deeply_nested_filters_are_invalid_filters(
    client: httpx.AsyncClient, idp: Service, text: str
) -> None:
    for response in await _both_ways(client, idp, "filter", text):
        error = assert_scim_error(response, 400, "invalidFilter")
        assert "more than 50 levels" in error["detail"]
        assert "position" in error["detail"]


async def test_nesting_up_to_the_limit_and_long_chains_are_answered(
    client: httpx.AsyncClient, idp: Service, three: list[uuid.UUID]
) -> None:
    # 50 levels: the outer 'not (', 25 parentheses, 23 more 'not (' and the value filter.
    fifty = "(" * 25 + "not (" * 23 + "emails[value pr]" + ")" * 48
    response = await _get(client, idp, filter=f"not ({fifty})")
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 3
    # A chain of 'or' as long as the length limit allows nests no deeper than one level.
    chain = " or ".join(['userName eq "n"'] * 190 + ['userName eq "p2@example.com"'])
    assert len(chain) > 3600
    response = await _get(client, idp, filter=chain)
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 1


# --- JSON bodies nested too deep -----------------------------------------------------------


def _nested_body(
    depth: int, opening: bytes = b"[", closing: bytes = b"]", *, schema: str | None = None
) -> bytes:
    """A JSON object ``depth`` levels deep: the object, then arrays (or objects) inside it,
    naming ``schema`` in its ``schemas`` when given."""
    inner = b"1" if opening == b"[" else b'"x": 1'
    schemas = f'"schemas": ["{schema}"], '.encode() if schema else b""
    nested = opening * (depth - 1) + inner + closing * (depth - 1)
    return b"{" + schemas + b'"nickName": ' + nested + b"}"


def _deep_object(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1)


DEEP_BODIES = {
    "33 arrays": _nested_body(33),
    "1000 arrays": _nested_body(1000),
    "5000 arrays": _nested_body(5000),
    "1000 objects": _deep_object(1000),
    "5000 objects": _deep_object(5000),
}


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
async def test_deeply_nested_json_bodies_are_invalid_syntax(
    client: httpx.AsyncClient, idp: Service, body: bytes
) -> None:
    user = await create_user(client, idp, okta_user(1))
    one = f"/scim/v2/Users/{user['id']}"
    for method, path in [
        ("POST", "/scim/v2/Users"),
        ("POST", SEARCH),
        ("PUT", one),
        ("PATCH", one),
    ]:
        response = await client.request(method, path, headers=headers(idp), content=body)
        error = assert_scim_error(response, 400, "invalidSyntax")
        assert "more than 32 levels" in error["detail"], method


async def test_json_bodies_up_to_the_limit_are_read(
    client: httpx.AsyncClient, idp: Service, three: list[uuid.UUID]
) -> None:
    # An attribute .search does not know is ignored, however it is nested within the limit.
    body = _nested_body(32, schema=SEARCH_REQUEST)
    response = await client.post(SEARCH, headers=headers(idp), content=body)
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 3


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [99999999999999999999999, 2**31])
async def test_a_start_index_past_any_directory_is_an_invalid_value(
    client: httpx.AsyncClient, idp: Service, start: int
) -> None:
    for response in await _both_ways(client, idp, "startIndex", start):
        error = assert_scim_error(response, 400, "invalidValue")
        assert "startIndex must be at most 2147483647" in error["detail"]


async def test_start_index_and_count_at_their_bounds(
    client: httpx.AsyncClient, idp: Service, three: list[uuid.UUID]
) -> None:
    # RFC 7644 3.4.2.4: a startIndex below 1 is 1, a negative count 0; the page size is capped.
    cases: list[tuple[dict[str, Any], tuple[int, int, int]]] = [
        ({"startIndex": 2**31 - 1}, (3, 2**31 - 1, 0)),
        ({"startIndex": -99999999999999999999999, "count": 2}, (3, 1, 2)),
        ({"count": 99999999999999999999999}, (3, 1, 3)),
        ({"count": -99999999999999999999999}, (3, 1, 0)),
    ]
    for params, expected in cases:
        for response in [
            await _get(client, idp, **{k: str(v) for k, v in params.items()}),
            await _search(client, idp, params),
        ]:
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == expected


@pytest.mark.parametrize("name", ["count", "startIndex"])
@pytest.mark.parametrize(
    "literal", ["1.5", "2.0", "1e400", "-1e400", "true", '"1.5"', '"1e3"', '"1_000"']
)
async def test_paging_numbers_must_be_integers_in_a_query_and_in_a_search(
    client: httpx.AsyncClient, idp: Service, name: str, literal: str
) -> None:
    """``literal`` is the JSON a ``.search`` sends; a query string sends its text."""
    text = json.loads(literal) if literal.startswith('"') else literal
    search = await client.post(
        SEARCH,
        headers=headers(idp),
        content=f'{{"schemas": ["{SEARCH_REQUEST}"], "{name}": {literal}}}'.encode(),
    )
    for response in [search, await _get(client, idp, **{name: text})]:
        error = assert_scim_error(response, 400, "invalidValue")
        assert f"{name} must be an integer" in error["detail"]


async def test_integers_the_database_cannot_hold_are_invalid_filters(
    client: httpx.AsyncClient, idp: Service, three: list[uuid.UUID]
) -> None:
    for text in [
        f"{REVMENTOR}:jobLevel gt -99999999999999999999999",
        "jobLevel lt 99999999999999999999999",
        "jobLevel eq 2147483648",
        "jobLevel ge 1e300",
    ]:
        for response in await _both_ways(client, idp, "filter", text):
            error = assert_scim_error(response, 400, "invalidFilter")
            assert "-2147483648 to 2147483647" in error["detail"], text
    at_the_edge = await _get(client, idp, filter="jobLevel gt -2147483648")
    assert at_the_edge.json()["totalResults"] == 3


# --- date-times at the ends of the calendar ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'meta.lastModified gt "9999-12-31T23:59:59-05:00"',
        'meta.lastModified lt "0001-01-01T00:00:00+05:00"',
        'meta.created eq "9999-12-31T23:59:59.999999-00:01"',
    ],
)
async def test_date_times_beyond_the_calendar_are_invalid_filters(
    client: httpx.AsyncClient, idp: Service, text: str
) -> None:
    for response in await _both_ways(client, idp, "filter", text):
        error = assert_scim_error(response, 400, "invalidFilter")
        assert "outside the years 1 to 9999" in error["detail"]


async def test_date_times_at_the_ends_of_the_calendar_are_answered(
    client: httpx.AsyncClient, idp: Service, three: list[uuid.UUID]
) -> None:
    cases = {
        'meta.lastModified gt "9999-12-31T23:59:59Z"': 0,
        'meta.lastModified lt "9999-12-31T23:59:59+05:00"': 3,
        'meta.created gt "0001-01-01T00:00:00Z"': 3,
        'meta.created gt "0001-01-01T00:00:00-05:00"': 3,
        'hireDate gt "9999-12-31T23:59:59-05:00"': 0,
    }
    for text, expected in cases.items():
        response = await _get(client, idp, filter=text)
        assert response.status_code == 200, f"{text}: {response.text}"
        assert response.json()["totalResults"] == expected, text
