"""Mutations: each calls the same domain service as its REST twin, in its own unit of work.

Inputs are checked by the domain's own input models (the ones REST validates with), so a
rule is written once; a change of a versioned resource takes ``expectedVersion`` (REST's
``If-Match``), and a stale one is a ``precondition-failed`` error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, relay

from app.api.graphql.context import Info
from app.api.graphql.relay import node_uuid
from app.domain.actors import Actor

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


async def unit_of_work(info: Info, work: Callable[[AsyncSession, Actor], Awaitable[T]]) -> T:
    """Run one mutation's work in its own session and commit it; loaders start afresh, so the
    answer shows the new state."""
    async with info.context.session() as session:
        result = await work(session, info.context.actor)
        await session.commit()
    info.context.reset_loaders()
    return result


def plain(value: Any) -> Any:
    """An input as the plain data the domain models validate: fields left out stay out
    (a partial update changes only what was sent)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not UNSET
        }
    return value


def to_domain(model: type[M], data: Any, **replace: Any) -> M:
    """The domain's input model from a GraphQL input. ``replace`` gives fields in their
    domain form (global ids as database ids); an ``UNSET`` replacement leaves the field out."""
    raw = plain(data) if data is not None else {}
    for name, value in replace.items():
        if value is UNSET:
            raw.pop(name, None)
        else:
            raw[name] = value
    return model.model_validate(raw)


def ids_of(values: list[relay.GlobalID] | None, type_name: str) -> Any:
    """Database ids from global ids of one type (``UNSET``/``None`` pass through)."""
    if values is None or values is UNSET:
        return values
    return [node_uuid(v, type_name) for v in values]
