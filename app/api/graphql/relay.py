"""Relay conventions: the ``Node`` interface, global ids and cursor connections.

Connections page forwards only (``first`` up to 100 and ``after``), over the same keyset
cursors as REST, so a cursor is valid until the listing changes shape, never an offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay

from app.db.pagination import MAX_LIMIT, Page
from app.domain.errors import InvalidInput, NotFound

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_FIRST = 50
First = strawberry.argument(description=f"How many items, 1 to {MAX_LIMIT}.")
After = strawberry.argument(description="The `endCursor` of the previous page.")


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="Always false: connections page forwards."
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A page of a list: its edges (each with a cursor), the nodes alone, and where to go
    next."""

    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_LIMIT:
        raise InvalidInput(f"first must be between 1 and {MAX_LIMIT}", field="first")
    return first


def connection(
    page: Page[R], wrap: Callable[[R], T], cursor_of: Callable[[R], str]
) -> Connection[T]:
    """A connection from one page of domain items."""
    cursors = [cursor_of(item) for item in page.items]
    nodes = [wrap(item) for item in page.items]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.next_cursor is not None,
            has_previous_page=False,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )


def global_id(type_name: str, value: uuid.UUID) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(value))


def node_uuid(value: relay.GlobalID, *expected: str) -> uuid.UUID:
    """The database id inside a global id of one of the ``expected`` types (an id of another
    type, or a malformed one, is an invalid input)."""
    if value.type_name not in expected:
        raise InvalidInput(
            f"expected the id of a {' or '.join(expected)}, got a {value.type_name}",
            field="id",
        )
    try:
        return uuid.UUID(value.node_id)
    except ValueError as exc:
        raise InvalidInput("the id is not one this API issued", field="id") from exc


def node_uuids(values: Iterable[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue  # a malformed id names nothing; ``node`` answers null for it
    return out


def ordered(found: dict[uuid.UUID, Any], ids: Iterable[str], *, required: bool) -> list[Any]:
    """Nodes in the order asked, ``None`` for those not found (or an error when required)."""
    out = []
    for value in ids:
        try:
            item = found.get(uuid.UUID(value))
        except ValueError:
            item = None
        if item is None and required:
            raise NotFound(f"node {value} not found")
        out.append(item)
    return out
