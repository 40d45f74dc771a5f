"""GraphQL errors: a domain error keeps its message and carries the REST problem's slug, type and
status; anything unexpected is masked; one failing field does not hide the rest of the answer;
``node`` never reveals whether a hidden object exists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from strawberry.relay import GlobalID

from app.api.graphql import limits
from app.domain import employees as employees_service
from app.domain import errors
from app.domain import programs as programs_service
from tests.api.graphql.support import gql
from tests.factories import Factory, Paired, Person

API = "/api/v1"


def gid(type_name: str, value: uuid.UUID | str) -> str:
    return str(GlobalID(type_name, str(value)))


def only_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    return dict(error)


CHAIN = "query Chain($id: ID!) { managementChain(employee: $id) { displayName } }"


# -- domain errors ---------------------------------------------------------------------------


async def test_not_found_carries_the_same_problem_type_and_message_as_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    missing = uuid.uuid4()

    graphql = await gql(client, admin, CHAIN, {"id": gid("Employee", missing)})
    rest = await client.get(f"{API}/employees/{missing}/management-chain", headers=admin.headers)

    error = only_error(graphql)
    problem = rest.json()
    assert rest.status_code == 404
    assert error["extensions"]["code"] == "not-found"
    assert error["extensions"]["type"] == problem["type"] == "urn:revmentor:problem:not-found"
    assert error["extensions"]["status"] == 404
    assert error["message"] == problem["detail"]
    assert error["path"] == ["managementChain"]


async def test_forbidden_keeps_its_rule_as_in_rest(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    person = await factory.person()
    mutation = 'mutation { createProgram(input: {name: "Mine"}) { id } }'

    graphql = await gql(client, person, mutation)
    rest = await client.post(f"{API}/programs", json={"name": "Mine"}, headers=person.headers)

    error = only_error(graphql)
    problem = rest.json()
    assert rest.status_code == 403
    assert error["extensions"] == {
        "code": "forbidden",
        "type": problem["type"],
        "status": 403,
        "rule": problem["rule"],
    }
    assert problem["rule"] == "admin_only"
    assert error["message"] == problem["detail"]
    assert graphql.json()["data"] is None
    assert (await client.get(f"{API}/programs", headers=person.headers)).json()["items"] == []


async def test_an_id_of_the_wrong_type_is_invalid_input_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()

    error = only_error(await gql(client, admin, CHAIN, {"id": gid("Program", uuid.uuid4())}))

    assert error["extensions"]["code"] == "invalid-input"
    assert error["extensions"]["status"] == 422
    assert error["extensions"]["field"] == "id"
    assert "Employee" in error["message"]


async def test_invalid_input_values_are_a_validation_error_per_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    mutation = 'mutation { createProgram(input: {name: ""}) { id } }'

    error = only_error(await gql(client, admin, mutation))

    assert error["extensions"]["code"] == "validation-error"
    assert error["extensions"]["status"] == 422
    assert [e["field"] for e in error["extensions"]["errors"]] == ["name"]
    assert error["message"].startswith("name: ")


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (errors.NotFound("nobody by that id"), "not-found", 404),
        (errors.Forbidden("only admins may look", rule="admin_only"), "forbidden", 403),
        (errors.Conflict("already active", extra={"current_status": "active"}), "conflict", 409),
        (
            errors.RuleViolation("too senior", rule="level_gap", field="mentor"),
            "rule-violation",
            422,
        ),
        (errors.InvalidInput("bad cursor", field="after"), "invalid-input", 422),
        (errors.PreconditionFailed("changed meanwhile"), "precondition-failed", 412),
        (errors.ServiceUnavailable("try again"), "service-unavailable", 503),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_every_kind_of_domain_error_maps_to_its_problem_slug(
    client: httpx.AsyncClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    error: errors.DomainError,
    code: str,
    status: int,
) -> None:
    admin = await factory.admin()

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(programs_service, "list_programs", refuse)

    found = only_error(await gql(client, admin, "{ programs { nodes { id } } }"))

    assert found["message"] == error.detail
    extensions = found["extensions"]
    assert extensions["code"] == code
    assert extensions["type"] == f"urn:revmentor:problem:{code}"
    assert extensions["status"] == status
    assert extensions.get("rule") == error.rule
    assert extensions.get("field") == error.field
    for key, value in error.extra.items():
        assert extensions[key] == value


# -- unexpected errors -------------------------------------------------------------------------


async def test_an_unexpected_error_is_masked(
    client: httpx.AsyncClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = await factory.admin()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(programs_service, "list_programs", broken)

    response = await gql(client, admin, "{ programs { nodes { id } } }")

    error = only_error(response)
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {
        "code": "internal-error",
        "type": "urn:revmentor:problem:internal-error",
        "status": 500,
    }
    assert error["path"] == ["programs"]
    assert "secret detail" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    # The operator, not the client, gets the cause.
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)


async def test_an_error_before_execution_is_masked_too(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await factory.admin()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    # A fault in the document checks themselves (they run before any resolver).
    monkeypatch.setattr(limits.Measurer, "of", broken)

    response = await gql(client, admin, "{ viewer { kind } }")

    assert response.json()["data"] is None
    error = only_error(response)
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "internal-error"
    assert "secret detail" not in response.text


async def test_one_failing_field_does_not_hide_the_rest_of_the_answer(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    paired = await factory.paired(name="Digital Fluency")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    # The employee records fail to load; the program, the pairing and what the members may
    # know of each other do not need them.
    monkeypatch.setattr(employees_service, "employees_by_id", broken)
    query = (
        "{ programs { nodes { name pairings { nodes { state "
        "mentor { displayName employee { email } } } } } } }"
    )

    response = await gql(client, paired.manager, query)

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {
        "programs": {
            "nodes": [
                {
                    "name": "Digital Fluency",
                    "pairings": {
                        "nodes": [
                            {
                                "state": "ACTIVE",
                                "mentor": {
                                    "displayName": paired.mentor.employee.display_name,
                                    "employee": None,
                                },
                            }
                        ]
                    },
                }
            ]
        }
    }
    [error] = body["errors"]
    assert error["path"] == ["programs", "nodes", 0, "pairings", "nodes", 0, "mentor", "employee"]
    assert error["extensions"]["code"] == "internal-error"
    assert "secret detail" not in response.text


# -- node lookups never reveal what the caller may not see --------------------------------------

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on Pairing { state mentor { displayName } mentee { displayName } }
    ... on Program { name }
  }
}
"""


async def node_of(client: httpx.AsyncClient, who: Person, id: str) -> httpx.Response:
    return await gql(client, who, NODE, {"id": id})


async def test_node_answers_the_object_by_its_global_id(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()

    response = await node_of(client, paired.mentor, gid("Pairing", paired.id))

    assert response.json() == {
        "data": {
            "node": {
                "id": gid("Pairing", paired.id),
                "state": "ACTIVE",
                "mentor": {"displayName": paired.mentor.employee.display_name},
                "mentee": {"displayName": paired.mentee.employee.display_name},
            }
        }
    }


@pytest.mark.parametrize(
    "make_id",
    [
        lambda p: gid("Pairing", uuid.uuid4()),  # no such pairing
        lambda p: gid("Program", p.id),  # a pairing's id under another type
        lambda p: gid("Milestone", p.id),  # not a node type
        lambda p: gid("Nonsense", p.id),  # no such type
        lambda p: gid("Pairing", "not-a-uuid"),  # well-formed global id, bad database id
    ],
    ids=["unknown", "other type", "not a node type", "no such type", "bad database id"],
)
async def test_node_answers_null_for_an_id_that_names_nothing(
    client: httpx.AsyncClient, factory: Factory, make_id: Any
) -> None:
    paired = await factory.paired()

    response = await node_of(client, paired.mentor, make_id(paired))

    assert response.status_code == 200
    assert response.json() == {"data": {"node": None}}


async def test_node_answers_null_with_invalid_input_for_a_malformed_id(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    person = await factory.person()

    response = await node_of(client, person, "definitely not base64!")

    assert response.json()["data"] == {"node": None}
    error = only_error(response)
    assert error["extensions"]["code"] == "invalid-input"
    assert error["extensions"]["status"] == 422


async def test_another_participants_pairing_answers_null_like_a_missing_one(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    theirs: Paired = await factory.paired()
    mine: Paired = await factory.paired(program=theirs.program, manager=theirs.manager)
    outsider = await factory.person()

    hidden = await node_of(client, mine.mentor, gid("Pairing", theirs.id))
    absent = await node_of(client, mine.mentor, gid("Pairing", uuid.uuid4()))
    for_outsider = await node_of(client, outsider, gid("Pairing", theirs.id))
    for_manager = await node_of(client, theirs.manager, gid("Pairing", theirs.id))
    rest = await client.get(f"{API}/pairings/{theirs.id}", headers=mine.mentor.headers)

    assert hidden.json() == absent.json() == for_outsider.json() == {"data": {"node": None}}
    assert for_manager.json()["data"]["node"]["state"] == "ACTIVE"
    assert rest.status_code == 404  # REST does not reveal it either


async def test_nodes_answers_null_in_place_of_each_hidden_object(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    theirs = await factory.paired()
    mine = await factory.paired(program=theirs.program, manager=theirs.manager)
    query = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = [gid("Pairing", mine.id), gid("Pairing", theirs.id), gid("Pairing", uuid.uuid4())]

    response = await gql(client, mine.mentee, query, {"ids": ids})

    assert response.json() == {"data": {"nodes": [{"id": ids[0]}, None, None]}}
