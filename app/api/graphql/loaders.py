"""DataLoaders, created per request: every relation a query follows is loaded in one batch per
level, so a nested query issues a bounded number of SQL statements whatever its page sizes.

Each batch opens its own session (resolvers run concurrently) and calls a domain function that
applies the actor's visibility rules, the same rules as the REST API's. Where REST would refuse
one parent's list (feedback for a reader, say), the domain answers that parent with the error,
and the loader raises it for that parent's field alone.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.db.models import (
    Concern,
    Employee,
    Enrollment,
    MatchingRun,
    Pairing,
    PairingRequest,
    Program,
)
from app.db.pagination import Page
from app.domain import (
    checkins,
    concerns,
    employees,
    enrollments,
    feedback,
    goals,
    health,
    pairing_requests,
    pairing_views,
    pairings,
    programs,
    reports,
)
from app.domain.actors import Actor
from app.domain.checkins import CheckInView
from app.domain.errors import DomainError
from app.domain.goals import MilestoneView
from app.domain.health import PairingHealth
from app.domain.matching import runs
from app.domain.pairing_views import PairingView
from app.domain.reports import ProgramReport

if TYPE_CHECKING:
    from app.api.graphql.context import Context

V = TypeVar("V")
#: The filters and page of a nested list, as a hashable key: ``(("first", 50), …)``.
Args = tuple[tuple[str, Hashable], ...]
ById = Callable[[AsyncSession, Actor, list[uuid.UUID]], Awaitable[dict[uuid.UUID, Any]]]
PagedFetch = Callable[..., Awaitable[Mapping[uuid.UUID, Page[Any] | DomainError]]]


def args_key(**kwargs: Hashable) -> Args:
    return tuple(sorted(kwargs.items()))


class Loaders:
    """The loaders of one request."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self.employee: DataLoader[uuid.UUID, Employee | None] = self._by_id(
            employees.employees_by_id
        )
        self.program: DataLoader[uuid.UUID, Program | None] = self._by_id(programs.programs_by_id)
        self.enrollment: DataLoader[uuid.UUID, Enrollment | None] = self._by_id(
            enrollments.enrollments_by_id
        )
        self.pairing: DataLoader[uuid.UUID, Pairing | None] = self._by_id(pairings.pairings_by_id)
        self.program_managers: DataLoader[uuid.UUID, list[uuid.UUID]] = DataLoader(
            self._program_managers
        )
        self.pairing_view: DataLoader[uuid.UUID, PairingView | None] = DataLoader(
            self._pairing_views
        )
        self.milestones: DataLoader[uuid.UUID, list[MilestoneView]] = DataLoader(self._milestones)
        self.pairings_of_program = self._paged(pairings.pairings_of_programs)
        self.enrollments_of_program = self._paged(enrollments.enrollments_of_programs)
        self.goals_of_pairing = self._paged(goals.goals_of_pairings)
        self.goals_of_owner = self._paged(goals.goals_of_owners)
        self.check_in: DataLoader[uuid.UUID, CheckInView | None] = self._by_id(
            checkins.check_ins_by_id
        )
        self.check_ins_of_pairing = self._paged(checkins.check_ins_of_pairings)
        self.feedback_of_pairing = self._paged(feedback.feedback_of_pairings)
        self.concern: DataLoader[uuid.UUID, Concern | None] = self._by_id(concerns.concerns_by_id)
        self.concerns_of_pairing = self._paged(concerns.concerns_of_pairings)
        self.pairing_health: DataLoader[uuid.UUID, PairingHealth | None] = self._by_id(
            health.health_of_pairings
        )
        self.health_of_program = self._paged(health.health_of_programs)
        self.program_report: DataLoader[uuid.UUID, ProgramReport | None] = self._by_id(
            reports.program_reports
        )
        self.matching_run: DataLoader[uuid.UUID, MatchingRun | None] = self._by_id(runs.runs_by_id)
        self.runs_of_program = self._paged(runs.runs_of_programs)
        self.comments_of_goal = self._paged(goals.comments_of_goals)
        self.pairing_request: DataLoader[uuid.UUID, PairingRequest | None] = self._by_id(
            pairing_requests.requests_by_id
        )

    # -- building blocks ----------------------------------------------------------------

    def _by_id(self, fetch: ById) -> DataLoader[uuid.UUID, Any]:
        async def load(ids: list[uuid.UUID]) -> list[Any]:
            async with self._context.session() as session:
                found = await fetch(session, self._context.actor, list(set(ids)))
            return [found.get(i) for i in ids]

        return DataLoader(load)

    def _paged(self, fetch: PagedFetch) -> DataLoader[tuple[uuid.UUID, Args], Page[Any]]:
        """A loader of the first page of a nested list per parent: keys asking for the same
        filters and page size are answered by one statement."""

        async def load(keys: list[tuple[uuid.UUID, Args]]) -> list[Page[Any] | DomainError]:
            by_args: dict[Args, set[uuid.UUID]] = defaultdict(set)
            for parent, args in keys:
                by_args[args].add(parent)
            pages: dict[tuple[uuid.UUID, Args], Page[Any] | DomainError] = {}
            async with self._context.session() as session:
                for args, parents in by_args.items():
                    found = await fetch(session, self._context.actor, parents, **dict(args))
                    for parent in parents:
                        pages[(parent, args)] = found.get(parent, Page(items=[], next_cursor=None))
            return [pages[key] for key in keys]

        return DataLoader(load)

    def prime(self, loader: DataLoader[uuid.UUID, V], items: Sequence[V]) -> None:
        """Remember rows a query already read, so relations to them cost no statement."""
        for item in items:
            loader.prime(item.id, item)  # type: ignore[attr-defined]

    # -- loads ----------------------------------------------------------------------------

    async def _program_managers(self, ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
        async with self._context.session() as session:
            found = await programs.managers_of(session, list(set(ids)))
        return [found.get(i, []) for i in ids]

    async def _pairing_views(self, ids: list[uuid.UUID]) -> list[PairingView | None]:
        rows = [p for p in await self.pairing.load_many(ids) if p is not None]
        async with self._context.session() as session:
            views = await pairing_views.pairing_views(session, self._context.actor, rows)
        by_id = {v.id: v for v in views}
        return [by_id.get(i) for i in ids]

    async def _milestones(self, ids: list[uuid.UUID]) -> list[list[MilestoneView]]:
        async with self._context.session() as session:
            found = await goals.milestones_of(session, list(set(ids)))
        return [found.get(i, []) for i in ids]
