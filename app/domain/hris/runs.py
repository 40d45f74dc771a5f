"""HRIS sync runs: delta pushes, snapshot runs with their commit, and the circuit breaker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, HrisRun, HrisRunPage
from app.db.pagination import Page, paginate
from app.db.queries import among
from app.db.types import utcnow, uuid7
from app.domain import audit, employees
from app.domain.actors import Actor, Scope
from app.domain.common import lock_for_update, touch
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.hris.push import (
    BY_INDEX,
    KEY,
    LEFT,
    Leaving,
    PageReport,
    Raw,
    RecordResult,
    RunKind,
    apply_records,
    audit_page,
    keyed,
    link_pending_managers,
    record_page,
    settle_unchanged,
    summarise,
)
from app.domain.hris.records import MAX_RECORDS


class RunStatus(StrEnum):
    OPEN = "open"
    HELD = "held"
    COMMITTED = "committed"
    REJECTED = "rejected"
    ABORTED = "aborted"


#: The reason a snapshot run gives the people it deactivates.
MISSING_FROM_SNAPSHOT = "missing from the source's snapshot"


def _require_hris(actor: Actor, doing: str = "pushing HRIS records") -> None:
    actor.require_scope(Scope.HRIS_WRITE, doing)


def pusher(actor: Actor) -> str:
    """Who pushed, as the run report names them."""
    if actor.service_name is not None:
        return f"service {actor.service_name}"
    return f"employee {actor.employee_id}"


def _check_size(records: list[Any], limit: int) -> None:
    if len(records) > limit:
        raise InvalidInput(
            f"a push carries at most {limit} records, this one has {len(records)}",
            field="records",
            rule="max_records",
        )


async def _push(
    session: AsyncSession, actor: Actor, run: HrisRun, records: list[Raw]
) -> tuple[list[RecordResult], Leaving]:
    settled, unsettled = await settle_unchanged(session, run, records)
    applied, leaving = await apply_records(session, actor, run, unsettled)
    return sorted([*settled, *applied], key=BY_INDEX), leaving


def _report(session: AsyncSession, actor: Actor, run: HrisRun, page: PageReport) -> None:
    record_page(run, page)
    audit_page(session, actor, run, page)


async def push_delta(
    session: AsyncSession,
    actor: Actor,
    *,
    source: str,
    records: list[Any],
    max_records: int = MAX_RECORDS,
) -> tuple[HrisRun, list[RecordResult]]:
    """Upsert up to 1,000 records by external id; each is validated and reported on its own,
    and the valid ones are kept. The push is recorded as a finished delta run. (``max_records``:
    the API's limit; the CSV import pushes larger batches.)"""
    _require_hris(actor)
    _check_size(records, max_records)
    run = _new_run(actor, source=source, kind=RunKind.DELTA)
    run.status = RunStatus.COMMITTED.value
    session.add(run)
    await session.flush()  # SQLite: this write takes the database lock before the reads
    results, _ = await _push(session, actor, run, keyed(records))  # a delta run defers nobody
    _report(session, actor, run, summarise(results))
    run.finished_at = utcnow()
    await session.flush()
    return run, results


def _new_run(actor: Actor, *, source: str, kind: RunKind) -> HrisRun:
    return HrisRun(
        source=source,
        kind=kind.value,
        status=RunStatus.OPEN.value,
        pushed_by=pusher(actor),
        token_id=actor.token_id,
        employee_id=actor.employee_id,
    )


async def open_snapshot(session: AsyncSession, actor: Actor, *, source: str) -> HrisRun:
    """Start a full sync of one source: push its pages, then commit."""
    _require_hris(actor)
    open_run = await session.scalar(
        select(col(HrisRun.id)).where(
            col(HrisRun.source) == source,
            col(HrisRun.kind) == RunKind.SNAPSHOT.value,
            col(HrisRun.status).in_((RunStatus.OPEN.value, RunStatus.HELD.value)),
        )
    )
    if open_run is not None:
        raise _already_open(source, open_run)
    run = _new_run(actor, source=source, kind=RunKind.SNAPSHOT)
    session.add(run)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent open won the race
        raise _already_open(source, None) from exc
    audit.record(
        session,
        actor,
        action="hris.snapshot_opened",
        entity_type="hris_run",
        entity_id=run.id,
        details={"source": source},
    )
    return run


def _already_open(source: str, run_id: uuid.UUID | None) -> Conflict:
    which = f" ({run_id})" if run_id is not None else ""
    return Conflict(
        f"a snapshot run of source {source} is already open or held{which}: "
        "commit, abort or decide it first",
        field="source",
        rule="snapshot_open",
    )


async def _run_in(session: AsyncSession, run_id: uuid.UUID, *states: RunStatus) -> HrisRun:
    run = await session.get(HrisRun, run_id)
    if run is None:
        raise NotFound(f"HRIS run {run_id} not found")
    _require_state(run, *states)
    return run


def _require_state(run: HrisRun, *states: RunStatus) -> None:
    if run.kind != RunKind.SNAPSHOT.value or run.status not in states:
        allowed = " or ".join(s.value for s in states)
        raise Conflict(
            f"HRIS run {run.id} is a {run.status} {run.kind} run; this needs an {allowed} "
            "snapshot run",
            rule="run_state",
        )


async def _locked_run(
    session: AsyncSession, actor: Actor, run_id: uuid.UUID, *states: RunStatus
) -> HrisRun:
    run = await session.get(HrisRun, run_id)
    if run is None:
        raise NotFound(f"HRIS run {run_id} not found")
    await lock_for_update(session, run)
    _require_state(run, *states)
    return run


async def push_snapshot_page(
    session: AsyncSession,
    actor: Actor,
    run_id: uuid.UUID,
    *,
    records: list[Any],
    max_records: int = MAX_RECORDS,
) -> tuple[HrisRun, list[RecordResult]]:
    """Push one page of an open snapshot run. Its records apply now, like a delta push, but
    nobody is deactivated before the run commits: neither the people the snapshot leaves out
    nor those whose records say they left. (``max_records`` as for ``push_delta``.)"""
    _require_hris(actor)
    _check_size(records, max_records)
    run = await _run_in(session, run_id, RunStatus.OPEN)
    if session.get_bind().dialect.name == "sqlite":
        await lock_for_update(session, run)  # SQLite: take the write lock before reading
    raw = keyed(records)
    results, leaving = await _push(session, actor, run, raw)
    seen: set[str] = set(filter(None, map(KEY, raw)))  # (a usable external id is never "")
    remembering = asyncio.ensure_future(_remember(session, run, seen, leaving))
    await asyncio.sleep(0)  # the statement goes out; the page's report is worked out meanwhile
    try:
        page = summarise(results)
    finally:
        await remembering
    # Pages of one run may be pushed in parallel (different people); the run's row is locked
    # only now, for its report. A commit that got in first ends this page with a 409, and the
    # page's records roll back with it. The lock is PostgreSQL's FOR NO KEY UPDATE: each page's
    # row of seen people holds a key-share lock on the run (its foreign key), which FOR UPDATE
    # would wait on — two pages, each waiting for the other.
    if session.get_bind().dialect.name == "sqlite":
        await lock_for_update(session, run)
    else:
        await session.refresh(run, with_for_update={"key_share": True})
    _require_state(run, RunStatus.OPEN)
    _report(session, actor, run, page)
    touch(run)
    await session.flush()
    return run, results


async def _remember(
    session: AsyncSession, run: HrisRun, external_ids: set[str], leaving: Leaving
) -> None:
    """Note who the snapshot has seen, and whose records say they left, as one row per page.
    Invalid records count as seen: a person whose record had a bad e-mail still works here
    and must not be deactivated for it."""
    seen = sorted(external_ids)
    if seen or leaving:
        # A plain insert: the row is never read back in this session, and the unit of work
        # would cost more than the statement.
        await session.execute(
            insert(HrisRunPage).values(
                id=uuid7(), run_id=run.id, external_ids=seen, leaving=leaving
            )
        )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _seen(run: HrisRun, dialect: str) -> Select[Any]:
    """Every external id the run's pages contained."""
    pages: Any = HrisRunPage.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        ids = func.jsonb_array_elements_text(pages.c.external_ids).table_valued("value")
    else:
        ids = func.json_each(pages.c.external_ids).table_valued("value")
    return select(ids.c.value).select_from(pages).join(ids, true()).where(pages.c.run_id == run.id)


def _missing(run: HrisRun, dialect: str) -> ColumnElement[bool]:
    """The source's active people this snapshot has not seen. Only people whose records have
    not changed since the run opened can be missing from it: a new hire or an adoption pushed
    on its own while the run is open (or held), or a reactivation, is newer than the snapshot,
    not left out of it (a hand edit meanwhile also spares someone; the next snapshot sees
    them)."""
    return (
        (col(Employee.source) == run.source)
        & col(Employee.active).is_(True)
        & (col(Employee.updated_at) <= run.created_at)
        & col(Employee.external_id).not_in(_seen(run, dialect))
    )


async def commit_snapshot(
    session: AsyncSession, actor: Actor, run_id: uuid.UUID, *, max_share: float
) -> HrisRun:
    """Finish a snapshot run: deactivate the source's people it did not contain — unless that
    is more than ``max_share`` of the source's active people, or (committed by a sync client)
    includes admins, in which case the run is held for an admin, and nobody is deactivated
    until one approves."""
    _require_hris(actor)
    run = await _locked_run(session, actor, run_id, RunStatus.OPEN)
    await link_pending_managers(session)
    active = await session.scalar(
        select(func.count()).where(
            col(Employee.source) == run.source, col(Employee.active).is_(True)
        )
    )
    # Who the snapshot left out is found once (a scan of the source's people against every
    # id the pages held), then counted, checked and deactivated by id; so are the people its
    # records say have left.
    missing = await _missing_ids(session, run)
    leaving = await _leaving(session, run)
    run.active_before, run.to_deactivate = active or 0, len(missing) + len(leaving)
    run.max_deactivation_share = max_share
    # An admin a sync client's snapshot merely left out (a truncated export) waits for an
    # admin; one whose record says they left is deprovisioned like anyone else.
    admins = 0
    if missing and not actor.is_admin:
        admins = (
            await session.scalar(
                select(func.count()).where(
                    among(col(Employee.id), missing, _dialect(session)),
                    col(Employee.is_admin).is_(True),
                )
            )
            or 0
        )
    too_many = run.to_deactivate > max_share * run.active_before
    if too_many or admins:
        run.status = RunStatus.HELD.value
        run.hold_reason = (
            f"the snapshot would deactivate {run.to_deactivate} of {run.active_before} active "
            f"people from {run.source}"
            + (
                f" ({len(missing)} left out of it, {len(leaving)} whose records say they left)"
                if leaving
                else ""
            )
            + (f", more than the allowed {max_share:.0%}" if too_many else "")
            + (f", {admins} of them admins, whom only an admin may deactivate" if admins else "")
            + ": an admin must approve or reject it"
        )
        touch(run)
        # What the hold counted is what an approval may deactivate (nobody found later).
        await session.execute(
            insert(HrisRunPage).values(
                id=uuid7(), run_id=run.id, external_ids=[], missing=[str(i) for i in missing]
            )
        )
        await session.flush()
        _record(session, actor, run, "held")
        return run
    await _finish(session, actor, run, missing, leaving)
    return run


async def _missing_ids(session: AsyncSession, run: HrisRun) -> list[uuid.UUID]:
    left_out = _missing(run, _dialect(session))
    return list((await session.execute(select(col(Employee.id)).where(left_out))).scalars())


async def _leaving(session: AsyncSession, run: HrisRun) -> dict[uuid.UUID, date | None]:
    """The people whose records in this run say they left, with the termination date given,
    when that record is still the last word: the person is active, of this source, and the
    record stored is that one (its time, and no fingerprint). A newer record applied since
    (a later page, a delta push) or a hand reactivation overrules it; an older or invalid one,
    which was not applied, does not."""
    said: dict[uuid.UUID, tuple[str | None, date | None]] = {}
    pages = await session.execute(
        select(col(HrisRunPage.leaving))
        .where(col(HrisRunPage.run_id) == run.id)
        .order_by(col(HrisRunPage.id))
    )
    for (entries,) in pages:
        for entry in entries:
            day = entry.get("termination_date")
            said[uuid.UUID(str(entry["id"]))] = (
                entry.get("modified_at"),
                date.fromisoformat(day) if day else None,
            )
    if not said:
        return {}  # the common case: nobody said to have left
    stored = await session.execute(
        select(col(Employee.id), col(Employee.source_modified_at)).where(
            among(col(Employee.id), list(said), _dialect(session)),
            col(Employee.active).is_(True),
            col(Employee.source) == run.source,
            col(Employee.source_digest).is_(None),
        )
    )
    leaving: dict[uuid.UUID, date | None] = {}
    for employee_id, stored_at in stored:
        said_at, leaves_on = said[employee_id]
        if said_at is not None and stored_at == datetime.fromisoformat(said_at):
            leaving[employee_id] = leaves_on
    return leaving


async def _held_missing(session: AsyncSession, run: HrisRun) -> list[uuid.UUID]:
    """The people a held run left out, as its hold counted them, who are missing still."""
    rows = await session.execute(
        select(col(HrisRunPage.missing)).where(col(HrisRunPage.run_id) == run.id)
    )
    held = [uuid.UUID(i) for (ids,) in rows for i in ids]
    if not held:
        return []
    still = _missing(run, _dialect(session)) & among(col(Employee.id), held, _dialect(session))
    return list((await session.execute(select(col(Employee.id)).where(still))).scalars())


async def _finish(
    session: AsyncSession,
    actor: Actor,
    run: HrisRun,
    ids: list[uuid.UUID] | None = None,
    leaving: dict[uuid.UUID, date | None] | None = None,
) -> None:
    """Deactivate the people the run left out (``ids``, when just found; for a run an admin
    approves later, those its hold counted who are still missing) and those its records say
    left (``leaving``, likewise), storing the termination date their records gave."""
    if ids is None:
        ids = await _held_missing(session, run)
    if leaving is None:
        leaving = await _leaving(session, run)
    if ids:
        # What is stored no longer matches what the source last sent (an active person): if
        # the source sends them again, even unchanged, they apply again and the person is back.
        await session.execute(
            update(Employee)
            .where(among(col(Employee.id), ids, _dialect(session)))
            .values(source_digest=None)
            .execution_options(synchronize_session=False)
        )
    run.deactivated = await employees.deactivate_people(
        session, actor, ids, reason=MISSING_FROM_SNAPSHOT
    )
    by_day: dict[date, list[uuid.UUID]] = {}
    for employee_id, day in leaving.items():
        if day is not None:
            by_day.setdefault(day, []).append(employee_id)
    for day, people in by_day.items():  # a statement per date, not per person
        await session.execute(
            update(Employee)
            .where(among(col(Employee.id), people, _dialect(session)))
            .values(termination_date=day)
            .execution_options(synchronize_session=False)
        )
    run.deactivated += await employees.deactivate_people(session, actor, list(leaving), reason=LEFT)
    await _close(session, actor, run, RunStatus.COMMITTED)


async def _close(session: AsyncSession, actor: Actor, run: HrisRun, status: RunStatus) -> None:
    run.status = status.value
    run.finished_at = utcnow()
    touch(run)
    await session.execute(delete(HrisRunPage).where(col(HrisRunPage.run_id) == run.id))
    await session.flush()
    _record(session, actor, run, status.value)


def _record(session: AsyncSession, actor: Actor, run: HrisRun, what: str) -> None:
    audit.record(
        session,
        actor,
        action=f"hris.snapshot_{what}",
        entity_type="hris_run",
        entity_id=run.id,
        details={
            "source": run.source,
            "to_deactivate": run.to_deactivate,
            "deactivated": run.deactivated,
        },
    )


async def approve_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> HrisRun:
    """An admin lets a held snapshot run deactivate the people it left out."""
    actor.require_admin("approve a held HRIS run")
    run = await _locked_run(session, actor, run_id, RunStatus.HELD)
    run.decided_by, run.decided_at = pusher(actor), utcnow()
    await _finish(session, actor, run)
    return run


async def reject_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> HrisRun:
    """An admin refuses a held snapshot run: nobody is deactivated (the records it pushed
    stay applied; each was a valid update on its own)."""
    actor.require_admin("reject a held HRIS run")
    run = await _locked_run(session, actor, run_id, RunStatus.HELD)
    run.decided_by, run.decided_at = pusher(actor), utcnow()
    await _close(session, actor, run, RunStatus.REJECTED)
    return run


async def abort_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> HrisRun:
    """Give up an open snapshot run (a sync job that failed half-way): nobody is deactivated."""
    _require_hris(actor)
    run = await _locked_run(session, actor, run_id, RunStatus.OPEN, RunStatus.HELD)
    await _close(session, actor, run, RunStatus.ABORTED)
    return run


async def get_run(session: AsyncSession, actor: Actor, run_id: uuid.UUID) -> HrisRun:
    """One HRIS run with its report."""
    _require_hris(actor, "reading HRIS runs")
    run = await session.get(HrisRun, run_id)
    if run is None:
        raise NotFound(f"HRIS run {run_id} not found")
    return run


async def list_runs(
    session: AsyncSession,
    actor: Actor,
    *,
    source: str | None = None,
    kind: RunKind | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[HrisRun]:
    """HRIS runs, newest first, with their reports."""
    _require_hris(actor, "reading HRIS runs")
    stmt = select(HrisRun)
    if source is not None:
        stmt = stmt.where(col(HrisRun.source) == source)
    if kind is not None:
        stmt = stmt.where(col(HrisRun.kind) == kind.value)
    if status is not None:
        stmt = stmt.where(col(HrisRun.status) == status.value)
    # Ids are time-ordered: the highest is the newest.
    return await paginate(
        session, stmt, key=col(HrisRun.id), limit=limit, cursor=cursor, descending=True
    )
