"""Abusive GraphQL documents are refused before anything runs — a 400 with a GraphQL error whose
``extensions.code`` says why, never a 500 — and the endpoint is only what it should be: POST
only, no batches, credentials required, introspection and the IDE switchable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from app.api.graphql.schema import build_schema
from app.config import Settings
from app.db.engine import Database
from tests.api.graphql.support import (
    GRAPHQL,
    client_with,
    counting_statements,
    error_codes,
    gql,
    refused,
)
from tests.factories import Factory, Person

#: Small limits, so the documents that cross them stay small.
STRICT = {
    "graphql_max_depth": 5,
    "graphql_max_aliases": 3,
    "graphql_max_tokens": 200,
    "graphql_max_query_bytes": 2048,
    "graphql_max_nodes": 1000,
}


@pytest.fixture
async def admin(factory: Factory) -> Person:
    return await factory.admin()


@pytest.fixture(scope="module")
async def strict(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(settings, db, **STRICT) as client:
        yield client


def nested(depth: int) -> str:
    """``viewer { employee { manager { manager … { id } } } } }``: ``depth`` levels."""
    return "{ viewer { employee { " + "manager { " * (depth - 2) + "id" + " }" * depth + " }"


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{n}: viewer {{ kind }}" for n in range(count)) + " }"


def amplified(levels: int) -> str:
    """Fragments that each spread the previous one twice, the first with two aliases: a few
    hundred tokens that describe 2 ** (levels + 1) aliased fields."""
    parts = ["fragment F0 on Query { a: viewer { kind } b: viewer { kind } }"]
    parts += [f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)]
    return " ".join(parts) + f" query Amplified {{ ...F{levels} }}"


async def statements_of(db: Database, client: httpx.AsyncClient, who: Any, query: str) -> int:
    with counting_statements(db) as counter:
        await gql(client, who, query)
    return counter.count


# -- depth ---------------------------------------------------------------------------------


async def test_nesting_up_to_the_depth_limit_runs_and_one_level_more_is_refused(
    client: httpx.AsyncClient, admin: Person
) -> None:
    allowed = await gql(client, admin, nested(15))
    deeper = await gql(client, admin, nested(16))

    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"]["viewer"]["employee"] == {"manager": None}
    [error] = refused(deeper)
    assert "15 levels" in error["message"]


async def test_a_smaller_depth_limit_is_obeyed(strict: httpx.AsyncClient, admin: Person) -> None:
    assert (await gql(strict, admin, nested(5))).status_code == 200
    refused(await gql(strict, admin, nested(6)))


async def test_depth_hidden_in_fragments_counts(strict: httpx.AsyncClient, admin: Person) -> None:
    query = (
        "fragment Up on Employee { manager { manager { manager { manager { id } } } } } "
        "{ viewer { employee { ...Up } } }"
    )

    refused(await gql(strict, admin, query))


async def test_nesting_beyond_what_the_parser_accepts_is_too_complex_not_a_crash(
    client: httpx.AsyncClient, admin: Person
) -> None:
    query = "{ viewer " + "{ employee " * 300 + "}" * 301

    refused(await gql(client, admin, query))


# -- aliases and fragments -------------------------------------------------------------------


async def test_an_alias_flood_is_refused(client: httpx.AsyncClient, admin: Person) -> None:
    allowed = await gql(client, admin, aliased(30))
    flood = await gql(client, admin, aliased(31))

    assert allowed.status_code == 200, allowed.text
    assert len(allowed.json()["data"]) == 30
    [error] = refused(flood)
    assert "30 aliases" in error["message"]


async def test_aliases_inside_fragments_count_each_time_the_fragment_is_spread(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    query = "fragment Two on Query { a: viewer { kind } b: viewer { kind } } { ...Two ...Two }"

    refused(await gql(strict, admin, query))


async def test_circular_fragments_are_refused_as_invalid(
    client: httpx.AsyncClient, admin: Person
) -> None:
    query = (
        "fragment A on Employee { manager { ...B } } "
        "fragment B on Employee { manager { ...A } } "
        "{ viewer { employee { ...A } } }"
    )

    [error] = refused(await gql(client, admin, query), "invalid-query")
    assert "Cannot spread fragment" in error["message"]


async def test_an_unknown_fragment_is_refused_as_invalid(
    client: httpx.AsyncClient, admin: Person
) -> None:
    [error] = refused(await gql(client, admin, "{ ...Missing }"), "invalid-query")
    assert "Missing" in error["message"]


async def test_fragment_amplification_is_refused_without_running_anything(
    client: httpx.AsyncClient, admin: Person, db: Database
) -> None:
    # 2 ** 41 aliased fields: refused only if fragments are measured once each, not expanded
    # (expanding them would take hours). Authenticating the caller is the only work done: the
    # same statements as for a document that does not even parse.
    baseline = await statements_of(db, client, admin, "{")

    with counting_statements(db) as counter:
        response = await gql(client, admin, amplified(40))

    errors = refused(response)
    assert {e["message"] for e in errors} >= {"the query uses more than 30 aliases"}
    assert counter.count == baseline


async def test_fragment_amplification_of_lists_is_refused_by_the_item_budget(
    client: httpx.AsyncClient, admin: Person, db: Database
) -> None:
    fragments = ["fragment L0 on Query { programs(first: 100) { nodes { id } } }"]
    fragments += [f"fragment L{n} on Query {{ ...L{n - 1} ...L{n - 1} }}" for n in range(1, 40)]
    query = " ".join(fragments) + " { ...L39 }"
    baseline = await statements_of(db, client, admin, "{")

    with counting_statements(db) as counter:
        response = await gql(client, admin, query)

    [error] = refused(response)
    assert "50,000 items" in error["message"]
    assert counter.count == baseline


# -- size ------------------------------------------------------------------------------------


async def test_a_token_flood_is_refused(client: httpx.AsyncClient, admin: Person) -> None:
    query = "{ viewer { " + "kind " * 3000 + "} }"

    [error] = refused(await gql(client, admin, query))
    assert "3000 tokens" in error["message"]


async def test_a_smaller_token_limit_is_obeyed(strict: httpx.AsyncClient, admin: Person) -> None:
    assert (await gql(strict, admin, "{ viewer { " + "kind " * 150 + "} }")).status_code == 200
    refused(await gql(strict, admin, "{ viewer { " + "kind " * 200 + "} }"))


async def test_a_query_larger_than_the_byte_limit_is_refused(
    client: httpx.AsyncClient, admin: Person
) -> None:
    def search(email: str) -> str:
        return f'{{ employees(email: "{email}") {{ nodes {{ id }} }} }}'

    small = await gql(client, admin, search("x" * 100 + "@example.com"))
    large = await gql(client, admin, search("x" * 20_000 + "@example.com"))

    assert small.status_code == 200, small.text
    [error] = refused(large)
    assert "the limit is 20,000" in error["message"]


# -- the item budget ---------------------------------------------------------------------------

PAGES = "{ programs(first: 10) { nodes { pairings(first: %s) { nodes { id } } } } }"


async def test_nested_pages_multiply_against_the_item_budget(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    # 10 programs with up to 50 pairings each is some 500 objects; 10 x 100 is over 1,000.
    allowed = await gql(strict, admin, PAGES % 50)
    too_many = await gql(strict, admin, PAGES % 100)

    assert allowed.status_code == 200, allowed.text
    [error] = refused(too_many)
    assert "more than 1,000 items" in error["message"]


async def test_the_default_item_budget_refuses_three_full_nested_pages(
    client: httpx.AsyncClient, admin: Person
) -> None:
    query = (
        "{ programs(first: 100) { nodes { pairings(first: 100) { nodes { "
        "goals(first: 100) { nodes { id } } } } } } }"
    )

    refused(await gql(client, admin, query))


async def test_pages_without_first_count_at_their_default_size(
    client: httpx.AsyncClient, admin: Person
) -> None:
    # 50 programs x 50 pairings x 50 goals.
    query = "{ programs { nodes { pairings { nodes { goals { nodes { id } } } } } } }"

    refused(await gql(client, admin, query))


async def test_page_sizes_given_in_variables_count(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    query = (
        "query Pages($programs: Int!, $pairings: Int!) { programs(first: $programs) { nodes { "
        "pairings(first: $pairings) { nodes { id } } } } }"
    )

    allowed = await gql(strict, admin, query, {"programs": 10, "pairings": 50})
    too_many = await gql(strict, admin, query, {"programs": 10, "pairings": 100})

    assert allowed.status_code == 200, allowed.text
    refused(too_many)


async def test_a_variables_default_page_size_counts(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    query = (
        "query Pages($pairings: Int = 100) { programs(first: 10) { nodes { "
        "pairings(first: $pairings) { nodes { id } } } } }"
    )

    refused(await gql(strict, admin, query))
    assert (await gql(strict, admin, query, {"pairings": 50})).status_code == 200


async def test_pages_inside_fragments_count_each_time_they_are_spread(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    fragment = "fragment Pairings on Program { pairings(first: 50) { nodes { id } } } "
    once = fragment + "{ programs(first: 10) { nodes { ...Pairings } } }"
    # Aliased twice: two lists of 10 programs with 50 pairings each.
    twice = fragment + (
        "{ a: programs(first: 10) { nodes { ...Pairings } } "
        "b: programs(first: 10) { nodes { ...Pairings } } }"
    )

    assert (await gql(strict, admin, once)).status_code == 200
    refused(await gql(strict, admin, twice))


async def test_only_the_operation_that_runs_is_measured(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    document = (
        "query Small { programs(first: 10) { nodes { pairings(first: 50) { nodes { id } } } } } "
        "query Large { programs(first: 10) { nodes { pairings(first: 100) { nodes { id } } } } }"
    )

    small = await gql(strict, admin, document, operation_name="Small")
    large = await gql(strict, admin, document, operation_name="Large")

    assert small.status_code == 200, small.text
    assert small.json() == {"data": {"programs": {"nodes": []}}}
    refused(large)


async def test_a_lookup_by_ids_counts_an_object_per_id(
    strict: httpx.AsyncClient, admin: Person
) -> None:
    ids = ", ".join(f'"{n}"' for n in range(10))
    query = (
        f"{{ nodes(ids: [{ids}]) {{ ... on Program {{ pairings(first: 100) {{ nodes {{ id }} }} "
        "} } }"
    )

    refused(await gql(strict, admin, query))


async def test_the_issues_nested_query_fits_the_default_budget(
    client: httpx.AsyncClient, admin: Person
) -> None:
    member = "employee { goals(first: 10) { nodes { title milestones { title } } } }"
    query = (
        "{ programs(first: 10) { nodes { pairings(first: 100) { nodes { "
        f"mentor {{ {member} }} mentee {{ {member} }} }} }} }} }} }}"
    )

    response = await gql(client, admin, query)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"programs": {"nodes": []}}}


@pytest.mark.parametrize("first", [0, 101, -1])
async def test_a_page_size_outside_1_to_100_is_invalid_input_naming_first(
    client: httpx.AsyncClient, admin: Person, factory: Factory, first: int
) -> None:
    await factory.program()
    top = await gql(client, admin, f"{{ programs(first: {first}) {{ nodes {{ id }} }} }}")
    inner = await gql(
        client,
        admin,
        f"{{ programs {{ nodes {{ pairings(first: {first}) {{ nodes {{ id }} }} }} }} }}",
    )

    for response, path in ((top, ["programs"]), (inner, ["programs", "nodes", 0, "pairings"])):
        assert response.status_code == 200, response.text
        [error] = response.json()["errors"]
        assert error["path"] == path
        assert error["extensions"]["code"] == "invalid-input"
        assert error["extensions"]["field"] == "first"
        assert "between 1 and 100" in error["message"]


# -- the endpoint ------------------------------------------------------------------------------


async def test_batches_are_refused(client: httpx.AsyncClient, admin: Person) -> None:
    batch = [{"query": "{ viewer { kind } }"}, {"query": "{ viewer { role } }"}]

    response = await client.post(GRAPHQL, json=batch, headers=admin.headers)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "Batching is not enabled" in error["message"]
    assert error["extensions"]["code"] == "bad-request"
    assert response.json()["data"] is None


async def test_queries_over_get_are_refused_and_still_need_credentials(
    client: httpx.AsyncClient, admin: Person, db: Database
) -> None:
    params = {"query": "{ programs { nodes { id } } }"}

    with counting_statements(db) as counter:
        signed_in = await client.get(GRAPHQL, params=params, headers=admin.headers)
    anonymous = await client.get(GRAPHQL, params=params)
    baseline = await statements_of(db, client, admin, "{")

    assert signed_in.status_code == 400
    error = signed_in.json()["errors"][0]
    assert "not allowed when using GET" in error["message"]
    assert error["extensions"]["code"] == "bad-request"
    assert counter.count == baseline  # authentication only: the query did not run
    assert anonymous.status_code == 401


async def test_mutations_over_get_are_refused(client: httpx.AsyncClient, admin: Person) -> None:
    response = await client.get(
        GRAPHQL, params={"query": "mutation { __typename }"}, headers=admin.headers
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}],
    ids=["missing", "unknown token", "wrong scheme"],
)
async def test_graphql_needs_valid_credentials(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(GRAPHQL, json={"query": "{ viewer { kind } }"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "viewer" not in response.text


# -- introspection and the IDE ------------------------------------------------------------------

SCHEMA_TYPES = "{ __schema { types { name } } }"


async def test_introspection_is_on_by_default_outside_production(
    client: httpx.AsyncClient, admin: Person
) -> None:
    full = await gql(client, admin, get_introspection_query(descriptions=True))
    names = await gql(client, admin, SCHEMA_TYPES)

    assert full.status_code == 200, full.text
    assert "errors" not in full.json()
    assert {"Program", "Pairing", "Employee", "Goal"} <= {
        t["name"] for t in names.json()["data"]["__schema"]["types"]
    }


async def test_introspection_can_be_switched_off(
    settings: Settings, db: Database, admin: Person
) -> None:
    async with client_with(settings, db, graphql_introspection=False) as client:
        schema = await gql(client, admin, SCHEMA_TYPES)
        one_type = await gql(client, admin, '{ __type(name: "Pairing") { fields { name } } }')
        typename = await gql(client, admin, "{ __typename viewer { kind } }")
        misspelt = await gql(client, admin, "{ viewr { kind } }")

    refused(schema, "introspection-disabled")
    refused(one_type, "introspection-disabled")
    # Ordinary queries still run, and errors do not suggest the names introspection hides.
    assert typename.json() == {"data": {"__typename": "Query", "viewer": {"kind": "person"}}}
    [error] = refused(misspelt, "invalid-query")
    assert "Did you mean" not in error["message"]


async def test_introspection_is_off_in_production() -> None:
    production = Settings(env="production")
    schema = build_schema(production)

    result = await schema.execute(SCHEMA_TYPES)

    assert result.data is None
    assert result.errors
    assert {e.extensions["code"] for e in result.errors if e.extensions} == {
        "introspection-disabled"
    }
    # … unless an operator turns it on deliberately.
    allowed = production.model_copy(update={"graphql_introspection": True})
    assert (await build_schema(allowed).execute(SCHEMA_TYPES)).errors is None


async def test_graphiql_is_served_when_enabled_without_credentials(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graphiql")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    # Its queries go to the POST endpoint, not back to the page.
    assert f'new URL("{GRAPHQL}", window.location.href)' in response.text


async def test_graphiql_is_absent_when_disabled(settings: Settings, db: Database) -> None:
    async with client_with(settings, db, graphql_ide=False) as client:
        page = await client.get("/graphiql")

    assert page.status_code == 404


async def test_graphiql_is_off_by_default_in_production() -> None:
    production = Settings(env="production")

    assert production.graphql_ide_enabled is False
    assert production.model_copy(update={"graphql_ide": True}).graphql_ide_enabled is True


async def test_document_errors_carry_the_problem_type_and_status(
    client: httpx.AsyncClient, admin: Person
) -> None:
    response = await gql(client, admin, "{ viewer { kind }")

    [error] = refused(response, "invalid-query")
    assert error["extensions"] == {
        "code": "invalid-query",
        "type": "urn:revmentor:problem:invalid-query",
        "status": 400,
    }
    assert error_codes(response) == ["invalid-query"]
