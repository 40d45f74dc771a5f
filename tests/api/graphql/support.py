"""Helpers for the GraphQL tests: posting a document, reading error codes, counting the SQL
statements a request issues, and apps with settings of their own over the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from app.config import Settings
from app.db.engine import Database
from app.main import create_app

GRAPHQL = "/graphql"


async def gql(
    client: httpx.AsyncClient,
    who: Any,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> httpx.Response:
    """POST a document as ``who`` (anything with ``headers``, or ``None`` for no credentials)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation_name is not None:
        body["operationName"] = operation_name
    headers = {} if who is None else who.headers
    return await client.post(GRAPHQL, json=body, headers=headers)


def error_codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors") or []]


def refused(response: httpx.Response, code: str = "query-too-complex") -> list[dict[str, Any]]:
    """Assert the document was refused before it ran: a 400, no data, errors of ``code``."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None, body
    assert code in error_codes(response), body
    return list(body["errors"])


class StatementCounter:
    """The SQL statements sent to the database while it is active (by this process)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def counting_statements(db: Database) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", counter)


@asynccontextmanager
async def client_with(
    settings: Settings, db: Database, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with these settings changed, over the test database (as the
    ``app`` fixture shares it)."""
    app = create_app(settings.model_copy(update=overrides))
    await app.state.db.dispose()
    app.state.db = db
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
