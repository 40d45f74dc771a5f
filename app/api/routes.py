"""The application's effective route table (FastAPI keeps included routers nested)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import routing
from starlette.routing import compile_path


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    regex: re.Pattern[str]
    context: Any

    @property
    def dependant(self) -> Any:
        return getattr(self.context, "dependant", None)


def route_table(routes: Any) -> list[RouteInfo]:
    """Every route with its full path and methods, included routers expanded."""
    table = []
    for context in routing.iter_route_contexts(routes):
        path = context.path or ""
        regex, _, _ = compile_path(path)
        table.append(
            RouteInfo(
                path=path,
                methods=frozenset(getattr(context, "methods", None) or ()),
                regex=regex,
                context=context,
            )
        )
    return table
