"""Helpers for the GraphQL read tests: ask GraphQL and REST the same question as the same actor,
and count the SQL statements a nested query issues."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

import httpx

from app.db.engine import Database
from tests.api.graphql.support import counting_statements, gql

API = "/api/v1"


def gid(type_name: str, value: uuid.UUID | str) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def db_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def ask(client: httpx.AsyncClient, who: Any, query: str, **variables: Any) -> dict[str, Any]:
    """The whole answer (data and errors) of a document asked as ``who``."""
    response = await gql(client, who, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(client: httpx.AsyncClient, who: Any, query: str, **variables: Any) -> Any:
    """The data of a document that must succeed."""
    body = await ask(client, who, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def rest(client: httpx.AsyncClient, who: Any, path: str, **params: Any) -> httpx.Response:
    return await client.get(f"{API}{path}", headers=who.headers, params=params)


async def rest_items(
    client: httpx.AsyncClient, who: Any, path: str, **params: Any
) -> list[dict[str, Any]]:
    """The items of a REST list that must succeed."""
    response = await rest(client, who, path, **params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def camelized(value: Any) -> Any:
    """A REST body with GraphQL's field names."""
    if isinstance(value, dict):
        return {camel(k): camelized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelized(v) for v in value]
    return value


def moment(value: str) -> datetime:
    """REST writes UTC as ``Z``, GraphQL as ``+00:00``: compare instants."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def statements(client: httpx.AsyncClient, db: Database, who: Any, query: str) -> int:
    """The SQL statements a document that must succeed issues."""
    with counting_statements(db) as counter:
        await data(client, who, query)
    return counter.count
