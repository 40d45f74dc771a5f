"""Goals: what each member of a pairing wants to learn or grow in, with ordered milestones.

Two-way learning: the senior mentee sets learning goals, the junior mentor growth goals. The
owner edits a goal. The partner reads it and, while the owner leaves ``partner_may_contribute``
on (the default), may comment on it and tick its milestones: help, not control; once the
pairing has ended early, the partner's part is over. The program's managers and admins read
goals; nobody but the owner changes their text, status or progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Goal, GoalComment, GoalMilestone, Pairing
from app.db.pagination import Page, decode_cursor, key_cursor, paginate, paginate_each
from app.db.types import utcnow
from app.db.visibility import pairings_visible_to
from app.domain import audit
from app.domain.access import PairingAccess, pairing_access, record_access
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.domain.values import Bool, Date, Int, Name, StrictInput, Tag

MAX_MILESTONES = 20
#: Pairings in which goals can be set.
GOAL_PAIRING_STATES = ("active", "paused")

LongText = Annotated[str, StringConstraints(max_length=4000)]


class GoalStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class OwnerRole(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"


#: Goals no longer worked on; they are never overdue.
CLOSED_GOAL_STATUSES = (GoalStatus.ACHIEVED.value, GoalStatus.DROPPED.value)

Progress = Annotated[Int, Field(ge=0, le=100, description="Per cent done, 0-100.")]


class MilestoneIn(StrictInput):
    """A milestone. Send ``id`` to keep an existing one (its done flag stays unless sent)."""

    id: uuid.UUID | None = None
    title: Name
    done: Bool | None = None


class GoalCreate(StrictInput):
    """A new goal, owned by the member who sets it."""

    title: Name
    description: LongText = ""
    focus_area: Tag | None = None
    target_date: Date | None = None
    status: GoalStatus = GoalStatus.NOT_STARTED
    progress: Progress = 0
    partner_may_contribute: Bool = True
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=MAX_MILESTONES)


class GoalUpdate(StrictInput):
    """A partial update by the owner. ``milestones``, when sent, is the new ordered list:
    milestones left out are removed."""

    title: Name | None = None
    description: LongText | None = None
    focus_area: Tag | None = None
    target_date: Date | None = None
    status: GoalStatus | None = None
    progress: Progress | None = None
    partner_may_contribute: Bool | None = None
    milestones: list[MilestoneIn] | None = Field(default=None, max_length=MAX_MILESTONES)


class MilestoneChange(StrictInput):
    done: Bool


class CommentCreate(StrictInput):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class MilestoneView(BaseModel):
    id: uuid.UUID
    position: int
    title: str
    done: bool
    done_at: datetime | None
    done_by_id: uuid.UUID | None


class GoalView(BaseModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    program_id: uuid.UUID
    owner_employee_id: uuid.UUID
    owner_role: OwnerRole
    title: str
    description: str
    focus_area: str | None
    target_date: date | None
    status: GoalStatus
    progress: int
    overdue: bool = Field(description="Past its target date and neither achieved nor dropped.")
    partner_may_contribute: bool
    milestones: list[MilestoneView]
    achieved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class CommentView(BaseModel):
    id: uuid.UUID
    goal_id: uuid.UUID
    author_employee_id: uuid.UUID
    body: str
    created_at: datetime


def is_overdue(goal: Goal, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return (
        goal.target_date is not None
        and goal.target_date < today
        and goal.status not in CLOSED_GOAL_STATUSES
    )


async def milestones_of(
    session: AsyncSession, goal_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[MilestoneView]]:
    """The milestones of each goal, in order, in one query (callers have checked that the
    goals may be read)."""
    by_goal: dict[uuid.UUID, list[MilestoneView]] = {g: [] for g in goal_ids}
    if by_goal:
        stmt = (
            select(GoalMilestone)
            .where(col(GoalMilestone.goal_id).in_(list(by_goal)))
            .order_by(col(GoalMilestone.goal_id), col(GoalMilestone.position))
        )
        for m in await session.scalars(stmt):
            by_goal[m.goal_id].append(MilestoneView.model_validate(m, from_attributes=True))
    return by_goal


async def goal_views(session: AsyncSession, goals: Sequence[Goal]) -> list[GoalView]:
    """Goals with their milestones, in one query whatever the number of goals."""
    by_goal = await milestones_of(session, [g.id for g in goals])
    today = utcnow().date()
    return [
        GoalView.model_validate(
            {
                **g.model_dump(),
                "overdue": is_overdue(g, today),
                "milestones": by_goal[g.id],
            }
        )
        for g in goals
    ]


async def goal_view(session: AsyncSession, goal: Goal) -> GoalView:
    return (await goal_views(session, [goal]))[0]


async def _goal_access(
    session: AsyncSession, actor: Actor, goal_id: uuid.UUID
) -> tuple[Goal, PairingAccess]:
    record, access = await record_access(session, actor, Goal, goal_id, "goal")
    return record, access


async def get_goal(session: AsyncSession, actor: Actor, goal_id: uuid.UUID) -> Goal:
    """A goal of a pairing the actor may see."""
    goal, _ = await _goal_access(session, actor, goal_id)
    return goal


async def list_goals(
    session: AsyncSession,
    actor: Actor,
    pairing_id: uuid.UUID,
    *,
    owner_role: OwnerRole | None = None,
    status: GoalStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Goal]:
    """The goals of a pairing, oldest first."""
    await pairing_access(session, actor, pairing_id)
    stmt = select(Goal).where(col(Goal.pairing_id) == pairing_id)
    if owner_role is not None:
        stmt = stmt.where(col(Goal.owner_role) == owner_role.value)
    if status is not None:
        stmt = stmt.where(col(Goal.status) == status.value)
    return await paginate(session, stmt, key=col(Goal.id), limit=limit, cursor=cursor)


def _goals_query(
    actor: Actor,
    *,
    owner_role: OwnerRole | None = None,
    status: GoalStatus | None = None,
    cursor: str | None = None,
) -> Select[Any]:
    # Goals are read by whoever may read their pairing (members, the program team, readers).
    visible = select(col(Pairing.id)).where(pairings_visible_to(actor))
    stmt = select(Goal).where(col(Goal.pairing_id).in_(visible))
    if owner_role is not None:
        stmt = stmt.where(col(Goal.owner_role) == owner_role.value)
    if status is not None:
        stmt = stmt.where(col(Goal.status) == status.value)
    if cursor:
        stmt = stmt.where(col(Goal.id) > decode_cursor(cursor))
    return stmt


async def goals_by_id(
    session: AsyncSession, actor: Actor, goal_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Goal]:
    """The goals among ``goal_ids`` the actor may read (as ``get_goal``), in one query."""
    stmt = _goals_query(actor).where(col(Goal.id).in_(list(goal_ids)))
    return {g.id: g for g in await session.scalars(stmt)}


async def goals_of_pairings(
    session: AsyncSession,
    actor: Actor,
    pairing_ids: Collection[uuid.UUID],
    *,
    owner_role: OwnerRole | None = None,
    status: GoalStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[Goal]]:
    """The first page of each pairing's goals (as ``list_goals``), in one query."""
    return await paginate_each(
        session,
        _goals_query(actor, owner_role=owner_role, status=status, cursor=cursor),
        parent=col(Goal.pairing_id),
        parents=pairing_ids,
        order_by=[col(Goal.id)],
        limit=limit,
        cursor_of=lambda g: key_cursor(g.id),
    )


async def goals_of_owners(
    session: AsyncSession,
    actor: Actor,
    employee_ids: Collection[uuid.UUID],
    *,
    status: GoalStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[Goal]]:
    """The first page of the goals each employee owns, across the pairings the actor may
    read, in one query."""
    return await paginate_each(
        session,
        _goals_query(actor, status=status, cursor=cursor),
        parent=col(Goal.owner_employee_id),
        parents=employee_ids,
        order_by=[col(Goal.id)],
        limit=limit,
        cursor_of=lambda g: key_cursor(g.id),
    )


def _apply_status(goal: Goal, status: GoalStatus, *, progress_sent: bool) -> None:
    if status is GoalStatus.ACHIEVED and goal.status != status.value:
        goal.achieved_at = utcnow()
        if not progress_sent:
            goal.progress = 100
    elif status is not GoalStatus.ACHIEVED:
        goal.achieved_at = None
    goal.status = status.value


def _new_milestones(
    goal_id: uuid.UUID, items: list[MilestoneIn], actor: Actor
) -> list[GoalMilestone]:
    now = utcnow()
    return [
        GoalMilestone(
            goal_id=goal_id,
            position=i,
            title=m.title,
            done=bool(m.done),
            done_at=now if m.done else None,
            done_by_id=actor.employee_id if m.done else None,
        )
        for i, m in enumerate(items)
    ]


def _audit(session: AsyncSession, actor: Actor, goal: Goal, action: str, **details: object) -> None:
    # Titles and descriptions are the members' words: the log keeps only what changed.
    audit.record(
        session,
        actor,
        action=f"goal.{action}",
        entity_type="goal",
        entity_id=goal.id,
        details={"pairing_id": str(goal.pairing_id), **details},
    )


async def create_goal(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, data: GoalCreate
) -> Goal:
    """Set a goal in a live pairing; the member who sets it owns it."""
    access = await pairing_access(session, actor, pairing_id)
    role = access.require_member("set goals in it")
    if access.pairing.state not in GOAL_PAIRING_STATES:
        raise Conflict(
            f"goals are set while a pairing is active or paused, not '{access.pairing.state}'",
            rule="pairing_live",
            extra={"current_status": access.pairing.state},
        )
    if data.milestones and any(m.id is not None for m in data.milestones):
        raise RuleViolation("a new goal's milestones cannot carry ids", field="milestones")
    assert actor.employee_id is not None
    goal = Goal(
        pairing_id=pairing_id,
        program_id=access.pairing.program_id,
        owner_employee_id=actor.employee_id,
        owner_role=role,
        title=data.title,
        description=data.description,
        focus_area=data.focus_area,
        target_date=data.target_date,
        progress=data.progress,
        partner_may_contribute=data.partner_may_contribute,
    )
    _apply_status(goal, data.status, progress_sent="progress" in data.model_fields_set)
    session.add(goal)
    await session.flush()
    session.add_all(_new_milestones(goal.id, data.milestones, actor))
    await session.flush()
    _audit(session, actor, goal, "created", owner_role=role)
    return goal


async def _load_for_change(
    session: AsyncSession, actor: Actor, goal_id: uuid.UUID
) -> tuple[Goal, PairingAccess]:
    goal, access = await _goal_access(session, actor, goal_id)
    await lock_for_update(session, goal)
    return goal, access


def _require_owner(actor: Actor, goal: Goal, what: str) -> None:
    if not actor.is_employee(goal.owner_employee_id):
        raise Forbidden(f"only the goal's owner can {what}", rule="goal_owner")


def _require_contributor(actor: Actor, goal: Goal, access: PairingAccess, what: str) -> None:
    if actor.is_employee(goal.owner_employee_id):
        return
    if access.is_member and access.pairing.state == "ended":
        # After an early exit the partner's part is over; the owner may still close the goal.
        raise Conflict(
            f"the pairing has ended; the partner can no longer {what}",
            rule="pairing_ended",
            extra={"current_status": access.pairing.state},
        )
    if access.is_member and goal.partner_may_contribute:
        return
    if access.is_member:
        raise Forbidden(
            f"the goal's owner has not invited their partner to {what}",
            rule="partner_not_invited",
        )
    raise Forbidden(f"only the members of the pairing can {what}", rule="member_only")


async def update_goal(
    session: AsyncSession,
    actor: Actor,
    goal_id: uuid.UUID,
    *,
    data: GoalUpdate,
    expected_version: int | None,
) -> Goal:
    """Change a goal (its owner only)."""
    goal, _ = await _load_for_change(session, actor, goal_id)
    _require_owner(actor, goal, "change it")
    check_version(goal.version, expected_version)
    sent = data.model_fields_set
    changed: list[str] = []
    for name in ("title", "description", "focus_area", "target_date", "partner_may_contribute"):
        if name in sent:
            value = getattr(data, name)
            if value is None and name in ("title", "description", "partner_may_contribute"):
                raise RuleViolation(f"{name} cannot be null", field=name)
            if getattr(goal, name) != value:
                setattr(goal, name, value)
                changed.append(name)
    if "progress" in sent:
        if data.progress is None:
            raise RuleViolation("progress cannot be null", field="progress")
        if goal.progress != data.progress:
            goal.progress = data.progress
            changed.append("progress")
    if "status" in sent:
        if data.status is None:
            raise RuleViolation("status cannot be null", field="status")
        if goal.status != data.status.value:
            _apply_status(goal, data.status, progress_sent="progress" in sent)
            changed.append("status")
    if data.milestones is not None and await _replace_milestones(
        session, actor, goal, data.milestones
    ):
        changed.append("milestones")
    if changed:
        touch(goal)
        await session.flush()
        _audit(session, actor, goal, "updated", fields=sorted(changed), status=goal.status)
    return goal


def _same_milestones(existing: Sequence[GoalMilestone], items: list[MilestoneIn]) -> bool:
    """Whether ``items`` restates the milestones as they are (same ids, order, titles, flags)."""
    ordered = sorted(existing, key=lambda m: m.position)
    return len(ordered) == len(items) and all(
        item.id == old.id and item.title == old.title and item.done in (None, old.done)
        for old, item in zip(ordered, items, strict=True)
    )


async def _replace_milestones(
    session: AsyncSession, actor: Actor, goal: Goal, items: list[MilestoneIn]
) -> bool:
    """Make ``items`` the goal's milestones; whether anything changed."""
    existing = {
        m.id: m
        for m in (
            await session.execute(
                select(GoalMilestone).where(col(GoalMilestone.goal_id) == goal.id)
            )
        ).scalars()
    }
    kept_ids = [m.id for m in items if m.id is not None]
    unknown = [str(i) for i in kept_ids if i not in existing]
    if unknown:
        raise RuleViolation(f"milestone {unknown[0]} is not one of this goal's", field="milestones")
    if len(set(kept_ids)) != len(kept_ids):
        raise RuleViolation("a milestone is listed twice", field="milestones")
    if _same_milestones(list(existing.values()), items):
        # A client sending the whole goal back must not make a new version out of nothing.
        return False
    removed = [m for m in existing.values() if m.id not in kept_ids]
    for m in removed:
        await session.delete(m)
    # Park the kept ones at negative positions first, so that reordering never collides on the
    # (goal, position) key within one flush.
    for i, milestone_id in enumerate(kept_ids):
        existing[milestone_id].position = -1 - i
    await session.flush()
    now = utcnow()
    for position, item in enumerate(items):
        old = existing.get(item.id) if item.id is not None else None
        if old is None:
            session.add(
                GoalMilestone(
                    goal_id=goal.id,
                    position=position,
                    title=item.title,
                    done=bool(item.done),
                    done_at=now if item.done else None,
                    done_by_id=actor.employee_id if item.done else None,
                )
            )
            continue
        old.position = position
        old.title = item.title
        if item.done is not None and item.done != old.done:
            old.done = item.done
            old.done_at = now if item.done else None
            old.done_by_id = actor.employee_id if item.done else None
    await session.flush()
    return True


async def set_milestone(
    session: AsyncSession,
    actor: Actor,
    goal_id: uuid.UUID,
    milestone_id: uuid.UUID,
    *,
    done: bool,
    expected_version: int | None,
) -> Goal:
    """Tick or untick a milestone (the owner, or the partner when the owner allows it)."""
    goal, access = await _load_for_change(session, actor, goal_id)
    _require_contributor(actor, goal, access, "tick its milestones")
    check_version(goal.version, expected_version)
    milestone = await session.get(GoalMilestone, milestone_id)
    if milestone is None or milestone.goal_id != goal.id:
        raise NotFound(f"milestone {milestone_id} not found on goal {goal_id}")
    if milestone.done != done:
        milestone.done = done
        milestone.done_at = utcnow() if done else None
        milestone.done_by_id = actor.employee_id if done else None
        touch(goal)
        await session.flush()
        _audit(
            session,
            actor,
            goal,
            "milestone_done" if done else "milestone_reopened",
            milestone_id=str(milestone.id),
        )
    return goal


async def add_comment(
    session: AsyncSession, actor: Actor, goal_id: uuid.UUID, *, data: CommentCreate
) -> GoalComment:
    """Comment on a goal (the owner, or the partner when the owner allows it)."""
    goal, access = await _goal_access(session, actor, goal_id)
    _require_contributor(actor, goal, access, "comment on it")
    assert actor.employee_id is not None
    comment = GoalComment(goal_id=goal.id, author_employee_id=actor.employee_id, body=data.body)
    session.add(comment)
    await session.flush()
    _audit(session, actor, goal, "commented", comment_id=str(comment.id))
    return comment


async def list_comments(
    session: AsyncSession,
    actor: Actor,
    goal_id: uuid.UUID,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[GoalComment]:
    """The comments on a goal, oldest first (whoever can read the goal)."""
    goal, _ = await _goal_access(session, actor, goal_id)
    stmt = _comments_query(actor).where(col(GoalComment.goal_id) == goal.id)
    return await paginate(session, stmt, key=col(GoalComment.id), limit=limit, cursor=cursor)


def _comments_query(actor: Actor, *, cursor: str | None = None) -> Select[Any]:
    # Whoever may read a goal reads its comments.
    goals = _goals_query(actor).with_only_columns(col(Goal.id))
    stmt = select(GoalComment).where(col(GoalComment.goal_id).in_(goals))
    if cursor:
        stmt = stmt.where(col(GoalComment.id) > decode_cursor(cursor))
    return stmt


async def comments_of_goals(
    session: AsyncSession,
    actor: Actor,
    goal_ids: Collection[uuid.UUID],
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[GoalComment]]:
    """The first page of each goal's comments (as ``list_comments``: oldest first), in one
    query whatever the number of goals."""
    return await paginate_each(
        session,
        _comments_query(actor, cursor=cursor),
        parent=col(GoalComment.goal_id),
        parents=goal_ids,
        order_by=[col(GoalComment.id)],
        limit=limit,
        cursor_of=lambda c: key_cursor(c.id),
    )
