"""Dependencies shared by the REST routers: the unit of work and the acting caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.auth.authenticate import authenticate
from app.config import Settings
from app.db.engine import Database
from app.domain.actors import Actor


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work. Write endpoints commit it before answering; anything not
    committed is rolled back when the request ends."""
    async with get_database(request).session() as session:
        yield session


async def require_actor(request: Request) -> Actor:
    """Authenticate the caller (every non-public route depends on this)."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    # Outside any transaction: the request's own unit of work is the endpoint's.
    async with get_database(request).session(autocommit=True) as session:
        actor = await authenticate(request, session, get_settings_dep(request))
    request.state.actor = actor
    return actor


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ActorDep = Annotated[Actor, Depends(require_actor)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
