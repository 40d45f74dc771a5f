"""List responses: a page of items, the next cursor in the body and in a ``Link`` header."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel

from app.db.pagination import MAX_LIMIT

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="Opaque cursor from the previous page's `next_cursor`."),
]


class PageOut(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = None


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """Add ``Link: <…>; rel="next"`` when there is a next page."""
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
