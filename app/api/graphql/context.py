"""The per-request GraphQL context: who is asking, a session factory and the DataLoaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from app.config import Settings
from app.db.engine import Database
from app.domain.actors import Actor

if TYPE_CHECKING:
    from app.api.graphql.loaders import Loaders


class Context(BaseContext):
    """Resolvers run concurrently, and one ``AsyncSession`` cannot be shared between them:
    each loader batch and each mutation opens its own session from here."""

    def __init__(self, *, actor: Actor, db: Database, settings: Settings) -> None:
        super().__init__()
        self.actor = actor
        self.db = db
        self.settings = settings

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A fresh session (rolled back when the block ends unless committed)."""
        async with self.db.session() as session:
            yield session

    def reset_loaders(self) -> None:
        """Forget what was loaded (after a mutation, later fields must read the new state)."""
        self.__dict__.pop("loaders", None)

    @cached_property
    def loaders(self) -> Loaders:
        from app.api.graphql.loaders import Loaders

        return Loaders(self)


Info = StrawberryInfo[Context, None]
