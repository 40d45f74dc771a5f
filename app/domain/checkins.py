"""Check-ins: the meetings of a pairing, and the cadence that tells when one is overdue.

A check-in's date, length, mode and topics are read by whoever can read the pairing; its shared
notes by the two members only. Each member may keep a private note on a check-in, read by its
author and nobody else: not the partner, not the program's managers, not admins, not the audit
log, not a report. Private notes live in their own table, and this module is the only one that
reads it (a test holds it to that).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import CursorResult, Insert, Select, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import CheckIn, CheckInPrivateNote, Pairing, Program
from app.db.pagination import Page, dated_cursor, newest_after, paginate_each, paginate_newest
from app.db.types import utcnow
from app.db.visibility import pairings_visible_to
from app.domain import audit
from app.domain.access import PairingAccess, access_to, pairing_access, record_access
from app.domain.actors import Actor
from app.domain.common import check_version, lock_for_update, touch
from app.domain.errors import Conflict, NotFound, RuleViolation
from app.domain.values import Date, Int, StrictInput, Tags

NoteText = Annotated[str, StringConstraints(max_length=10000)]
#: A member's calendar may be a day ahead of UTC.
DATE_SLACK = timedelta(days=1)


class MeetingMode(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    CHAT = "chat"


Duration = Annotated[Int, Field(ge=5, le=600, description="Minutes, 5-600.")]


class CheckInCreate(StrictInput):
    """A meeting the two members had."""

    met_on: Date
    duration_minutes: Duration
    mode: MeetingMode
    topics: Tags = Field(default_factory=list)
    shared_notes: NoteText = ""
    private_note: NoteText | None = Field(
        default=None, description="Yours only: nobody else ever reads it, admins included."
    )


class CheckInUpdate(StrictInput):
    """A partial update of the shared record (either member)."""

    met_on: Date | None = None
    duration_minutes: Duration | None = None
    mode: MeetingMode | None = None
    topics: Tags | None = None
    shared_notes: NoteText | None = None


class PrivateNoteIn(StrictInput):
    body: Annotated[str, StringConstraints(min_length=1, max_length=10000)]


class PrivateNoteView(BaseModel):
    check_in_id: uuid.UUID
    body: str
    updated_at: datetime


class CheckInView(BaseModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    program_id: uuid.UUID
    logged_by_id: uuid.UUID
    met_on: date
    duration_minutes: int
    mode: MeetingMode
    topics: list[str]
    shared_notes: str | None = Field(description="The two members only; null for anyone else.")
    private_note: str | None = Field(description="Your own private note, if you wrote one.")
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class Cadence:
    """Where a live pairing stands against its program's meeting cadence."""

    cadence_days: int
    last_check_in_on: date | None
    next_check_in_due_on: date
    overdue: bool


def cadence_start(
    activated_on: date, last_met_on: date | None, resumed_at: datetime | None
) -> date:
    """The day the cadence counts from: the latest of going live, the last meeting and the last
    resume (a pause is not a missed meeting)."""
    days = [activated_on, last_met_on, resumed_at.date() if resumed_at else None]
    return max(d for d in days if d is not None)


def cadence_of(
    pairing: Pairing, program: Program, last_met_on: date | None, today: date
) -> Cadence | None:
    """The next check-in is due one cadence after the last one (or after the pairing went live
    or last resumed); it is overdue the day after. Only live (active) pairings have a cadence."""
    if pairing.state != "active" or pairing.activated_at is None:
        return None
    since = cadence_start(pairing.activated_at.date(), last_met_on, pairing.resumed_at)
    due = since + timedelta(days=program.meeting_cadence_days)
    return Cadence(
        cadence_days=program.meeting_cadence_days,
        last_check_in_on=last_met_on,
        next_check_in_due_on=due,
        overdue=today > due,
    )


async def last_check_ins(
    session: AsyncSession, pairing_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, date]:
    """The date of each pairing's latest check-in, in one query."""
    if not pairing_ids:
        return {}
    stmt = (
        select(col(CheckIn.pairing_id), func.max(col(CheckIn.met_on)))
        .where(col(CheckIn.pairing_id).in_(list(pairing_ids)))
        .group_by(col(CheckIn.pairing_id))
    )
    return {row[0]: row[1] for row in (await session.execute(stmt)).all()}


async def check_in_views(
    session: AsyncSession, actor: Actor, check_ins: Sequence[CheckIn], *, members_of: set[uuid.UUID]
) -> list[CheckInView]:
    """Shape check-ins for this actor. ``members_of`` holds the pairings the actor is a member
    of (they read the shared notes); only the actor's own private notes are ever loaded."""
    mine: dict[uuid.UUID, str] = {}
    if actor.employee_id is not None and check_ins:
        stmt = select(CheckInPrivateNote).where(
            col(CheckInPrivateNote.check_in_id).in_([c.id for c in check_ins]),
            col(CheckInPrivateNote.author_employee_id) == actor.employee_id,
        )
        mine = {n.check_in_id: n.body for n in (await session.execute(stmt)).scalars()}
    return [
        CheckInView.model_validate(
            {
                **c.model_dump(),
                "shared_notes": c.shared_notes if c.pairing_id in members_of else None,
                "private_note": mine.get(c.id),
            }
        )
        for c in check_ins
    ]


async def check_in_view(session: AsyncSession, actor: Actor, check_in: CheckIn) -> CheckInView:
    pairing = await session.get(Pairing, check_in.pairing_id)
    assert pairing is not None
    members = {pairing.id} if access_to(actor, pairing).is_member else set()
    return (await check_in_views(session, actor, [check_in], members_of=members))[0]


async def _check_in_access(
    session: AsyncSession, actor: Actor, check_in_id: uuid.UUID
) -> tuple[CheckIn, PairingAccess]:
    record, access = await record_access(session, actor, CheckIn, check_in_id, "check-in")
    return record, access


async def get_check_in(session: AsyncSession, actor: Actor, check_in_id: uuid.UUID) -> CheckIn:
    """A check-in of a pairing the actor may see."""
    check_in, _ = await _check_in_access(session, actor, check_in_id)
    return check_in


def _check_ins_query(actor: Actor, *, cursor: str | None = None) -> Select[Any]:
    # Whoever may read a pairing reads its check-ins; what of them is shaped per actor.
    visible = select(col(Pairing.id)).where(pairings_visible_to(actor))
    stmt = select(CheckIn).where(col(CheckIn.pairing_id).in_(visible))
    if cursor:
        stmt = stmt.where(newest_after(cursor, on=col(CheckIn.met_on), key=col(CheckIn.id)))
    return stmt


async def _member_pairings(
    session: AsyncSession, actor: Actor, pairing_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """The pairings among ``pairing_ids`` the actor is a member of (they read shared notes)."""
    if actor.employee_id is None or not pairing_ids:
        return set()
    stmt = select(col(Pairing.id)).where(
        col(Pairing.id).in_(list(pairing_ids)),
        or_(
            col(Pairing.mentor_employee_id) == actor.employee_id,
            col(Pairing.mentee_employee_id) == actor.employee_id,
        ),
    )
    return set(await session.scalars(stmt))


async def list_check_ins(
    session: AsyncSession,
    actor: Actor,
    pairing_id: uuid.UUID,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CheckInView]:
    """The check-ins of a pairing, latest meeting first, as this actor may read them."""
    access = await pairing_access(session, actor, pairing_id)
    stmt = _check_ins_query(actor).where(col(CheckIn.pairing_id) == pairing_id)
    page = await paginate_newest(
        session, stmt, on=col(CheckIn.met_on), key=col(CheckIn.id), limit=limit, cursor=cursor
    )
    members = {pairing_id} if access.is_member else set()
    views = await check_in_views(session, actor, page.items, members_of=members)
    return Page(items=views, next_cursor=page.next_cursor)


async def check_ins_by_id(
    session: AsyncSession, actor: Actor, check_in_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, CheckInView]:
    """The check-ins among ``check_in_ids`` the actor may read (as ``get_check_in``), shaped
    for them, in a fixed number of queries."""
    stmt = _check_ins_query(actor).where(col(CheckIn.id).in_(list(check_in_ids)))
    rows = list(await session.scalars(stmt))
    members = await _member_pairings(session, actor, {c.pairing_id for c in rows})
    return {v.id: v for v in await check_in_views(session, actor, rows, members_of=members)}


async def check_ins_of_pairings(
    session: AsyncSession,
    actor: Actor,
    pairing_ids: Collection[uuid.UUID],
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[uuid.UUID, Page[CheckInView]]:
    """The first page of each pairing's check-ins (as ``list_check_ins``: latest meeting
    first, shaped for the actor), in a fixed number of queries whatever the number of
    pairings."""
    pages = await paginate_each(
        session,
        _check_ins_query(actor, cursor=cursor),
        parent=col(CheckIn.pairing_id),
        parents=pairing_ids,
        order_by=[col(CheckIn.met_on).desc(), col(CheckIn.id).desc()],
        limit=limit,
        cursor_of=lambda c: dated_cursor(c.met_on, c.id),
    )
    rows = [c for page in pages.values() for c in page.items]
    members = await _member_pairings(session, actor, {c.pairing_id for c in rows})
    views = {v.id: v for v in await check_in_views(session, actor, rows, members_of=members)}
    return {
        parent: Page(items=[views[c.id] for c in page.items], next_cursor=page.next_cursor)
        for parent, page in pages.items()
    }


def _check_date(pairing: Pairing, met_on: date) -> None:
    if pairing.activated_at is None:  # pragma: no cover - callers check the state first
        raise Conflict("the pairing never went live", rule="pairing_live")
    today = utcnow().date()
    if met_on > today + DATE_SLACK:
        raise RuleViolation("a check-in cannot be in the future", field="met_on", rule="past_date")
    if met_on < pairing.activated_at.date() - DATE_SLACK:
        raise RuleViolation(
            f"the pairing went live on {pairing.activated_at.date().isoformat()}; "
            "log meetings from then on",
            field="met_on",
            rule="during_pairing",
        )
    if pairing.closed_at is not None and met_on > pairing.closed_at.date() + DATE_SLACK:
        raise RuleViolation(
            f"the pairing closed on {pairing.closed_at.date().isoformat()}",
            field="met_on",
            rule="during_pairing",
        )


def _audit(
    session: AsyncSession, actor: Actor, check_in: CheckIn, action: str, **details: object
) -> None:
    # Never the notes: the log says that a meeting was logged or changed, not what was said.
    audit.record(
        session,
        actor,
        action=f"check_in.{action}",
        entity_type="check_in",
        entity_id=check_in.id,
        details={"pairing_id": str(check_in.pairing_id), **details},
    )


async def log_check_in(
    session: AsyncSession, actor: Actor, pairing_id: uuid.UUID, *, data: CheckInCreate
) -> CheckIn:
    """Log a meeting (either member), with an optional private note of the author's."""
    access = await pairing_access(session, actor, pairing_id)
    access.require_member("log its meetings")
    pairing = access.pairing
    if pairing.activated_at is None:
        raise Conflict(
            f"meetings are logged once a pairing is live; this one is '{pairing.state}'",
            rule="pairing_live",
            extra={"current_status": pairing.state},
        )
    _check_date(pairing, data.met_on)
    assert actor.employee_id is not None
    check_in = CheckIn(
        pairing_id=pairing.id,
        program_id=pairing.program_id,
        logged_by_id=actor.employee_id,
        met_on=data.met_on,
        duration_minutes=data.duration_minutes,
        mode=data.mode.value,
        topics=data.topics,
        shared_notes=data.shared_notes,
    )
    session.add(check_in)
    await session.flush()
    if data.private_note:
        session.add(
            CheckInPrivateNote(
                check_in_id=check_in.id,
                author_employee_id=actor.employee_id,
                body=data.private_note,
            )
        )
        await session.flush()
    _audit(session, actor, check_in, "logged", met_on=check_in.met_on.isoformat())
    return check_in


async def update_check_in(
    session: AsyncSession,
    actor: Actor,
    check_in_id: uuid.UUID,
    *,
    data: CheckInUpdate,
    expected_version: int | None,
) -> CheckIn:
    """Correct the shared record of a meeting (either member)."""
    check_in, access = await _check_in_access(session, actor, check_in_id)
    access.require_member("change its meetings")
    await lock_for_update(session, check_in)
    check_version(check_in.version, expected_version)
    changed: list[str] = []
    for name in ("met_on", "duration_minutes", "mode", "topics", "shared_notes"):
        if name not in data.model_fields_set:
            continue
        value = getattr(data, name)
        if value is None:
            raise RuleViolation(f"{name} cannot be null", field=name)
        if name == "met_on":
            _check_date(access.pairing, value)
        if isinstance(value, MeetingMode):
            value = value.value
        if getattr(check_in, name) != value:
            setattr(check_in, name, value)
            changed.append(name)
    if changed:
        touch(check_in)
        await session.flush()
        _audit(session, actor, check_in, "updated", fields=sorted(changed))
    return check_in


async def _own_note(
    session: AsyncSession, actor: Actor, check_in_id: uuid.UUID
) -> tuple[CheckIn, uuid.UUID, CheckInPrivateNote | None]:
    check_in, access = await _check_in_access(session, actor, check_in_id)
    access.require_member("keep private notes on its meetings")
    assert actor.employee_id is not None
    note = await session.get(CheckInPrivateNote, (check_in.id, actor.employee_id))
    return check_in, actor.employee_id, note


async def get_private_note(
    session: AsyncSession, actor: Actor, check_in_id: uuid.UUID
) -> CheckInPrivateNote:
    """The actor's own private note on a check-in."""
    _, _, note = await _own_note(session, actor, check_in_id)
    if note is None:
        raise NotFound("you have no private note on this check-in")
    return note


def _upsert_note(dialect: str, check_in_id: uuid.UUID, author: uuid.UUID, body: str) -> Insert:
    values = {
        "check_in_id": check_in_id,
        "author_employee_id": author,
        "body": body,
        "updated_at": utcnow(),
    }
    key = [col(CheckInPrivateNote.check_in_id), col(CheckInPrivateNote.author_employee_id)]
    if dialect == "postgresql":
        pg = postgresql.insert(CheckInPrivateNote).values(values)
        return pg.on_conflict_do_update(
            index_elements=key,
            set_={"body": pg.excluded.body, "updated_at": pg.excluded.updated_at},
        )
    lite = sqlite.insert(CheckInPrivateNote).values(values)
    return lite.on_conflict_do_update(
        index_elements=key,
        set_={"body": lite.excluded.body, "updated_at": lite.excluded.updated_at},
    )


async def put_private_note(
    session: AsyncSession, actor: Actor, check_in_id: uuid.UUID, *, data: PrivateNoteIn
) -> CheckInPrivateNote:
    """Write (or rewrite) the actor's own private note. The check-in itself is unchanged, so
    the partner cannot tell that a note exists."""
    check_in, author, _ = await _own_note(session, actor, check_in_id)
    # One statement, so that two saves at once (a double click) both land: the last one wins.
    dialect = session.get_bind().dialect.name
    await session.execute(_upsert_note(dialect, check_in.id, author, data.body))
    note = await session.get(CheckInPrivateNote, (check_in.id, author), populate_existing=True)
    assert note is not None
    return note


async def delete_private_note(session: AsyncSession, actor: Actor, check_in_id: uuid.UUID) -> None:
    """Delete the actor's own private note."""
    check_in, author, _ = await _own_note(session, actor, check_in_id)
    result = await session.execute(
        delete(CheckInPrivateNote).where(
            col(CheckInPrivateNote.check_in_id) == check_in.id,
            col(CheckInPrivateNote.author_employee_id) == author,
        )
    )
    # A concurrent delete may have taken it since it was read.
    if not isinstance(result, CursorResult) or result.rowcount == 0:
        raise NotFound("you have no private note on this check-in")
