"""Applying one page of HRIS records: validate each on its own, then write in bulk.

A page of up to 1,000 records costs a handful of statements whatever its size: one read of the
rows it touches (locked, so two pushes of the same person apply in order of their source
timestamps), one multi-row insert, one multi-row update, and the manager links. Records that
say nothing new write nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import bulk
from app.db.models import Employee, HrisRun
from app.db.queries import among
from app.db.types import utcnow, uuid7s
from app.domain import audit, employees
from app.domain.actors import Actor
from app.domain.errors import Conflict
from app.domain.hris.records import HrisRecord, columns_of, digest_matches, digest_of, reason_of

EMPLOYEES = Employee.__table__  # type: ignore[attr-defined]
#: The employees table again, as the manager side of a self-join (made once: building an
#: alias's column collection costs more than the rest of the statement).
_MANAGER = EMPLOYEES.alias("manager")

#: How often a page is retried when a concurrent push wins a race or a cycle must be removed.
ATTEMPTS = 5


# A run of records: a delta push, or a snapshot (a full sync, whose deactivations wait for its
# commit). Kept here, beside the writing that tells them apart.
class RunKind(StrEnum):
    DELTA = "delta"
    SNAPSHOT = "snapshot"


@dataclass
class RecordResult:
    """What happened to one record of a push."""

    index: int
    external_id: str | None
    outcome: str  # created, updated, unchanged, stale, invalid
    employee_id: uuid.UUID | None = None
    field: str | None = None
    reason: str | None = None


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    newer_stamps: list[dict[str, Any]] = field(default_factory=list)
    deactivate: list[uuid.UUID] = field(default_factory=list)
    reactivate: list[uuid.UUID] = field(default_factory=list)
    manager_changed: dict[uuid.UUID, int] = field(default_factory=dict)  # employee -> index
    arrived: list[str] = field(default_factory=list)  # external ids new to the directory
    late_links: list[dict[str, Any]] = field(default_factory=list)
    # Snapshot runs: people whose records say they left, deactivated when the run commits.
    leaving: list[dict[str, str | None]] = field(default_factory=list)


def external_id_of(raw: object) -> str | None:
    """The external id of a raw record, when it has a usable one (even if the rest is bad).

    A whole number stands for its digits: the record is still refused (an external id is
    text), but a snapshot counts the person as seen and does not deactivate them for it.
    """
    if isinstance(raw, dict):
        value = raw.get("external_id")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            if value and len(value) <= 255:
                return value
    return None


#: A record of a push as it came: its position, the record, and its external id if usable.
Raw = tuple[int, Any, str | None]


def keyed(raw_records: list[Any]) -> list[Raw]:
    """The records of a push with their positions and external ids (read once per push)."""
    return [(index, raw, external_id_of(raw)) for index, raw in enumerate(raw_records)]


#: Position in the push, the record, its fingerprint, and the record as it was sent.
Parsed = tuple[int, HrisRecord, str, dict[str, Any]]


def validate(raw_records: list[Raw]) -> tuple[list[RecordResult], list[Parsed]]:
    """Each record checked on its own. The same person twice in one push: the newest record
    applies (of equal times, the later one, as two pushes in a row would), the others are
    reported stale. Returns the records settled here, and those to write."""
    settled: list[RecordResult] = []
    valid: list[Parsed] = []
    for index, raw, ext in raw_records:
        try:
            record = HrisRecord.model_validate(raw)
        except ValidationError as exc:
            where, why = reason_of(exc)
            settled.append(RecordResult(index, ext, "invalid", field=where, reason=why))
            continue
        valid.append((index, record, digest_of(raw), raw))
    latest: dict[str, Parsed] = {}
    for parsed in valid:
        kept = latest.get(parsed[1].external_id)
        if kept is None or parsed[1].modified_at >= kept[1].modified_at:
            latest[parsed[1].external_id] = parsed
    if len(latest) == len(valid):
        return settled, valid
    for index, record, _, _ in valid:
        winner = latest[record.external_id]
        if winner[0] != index:
            settled.append(
                RecordResult(
                    index,
                    record.external_id,
                    "stale",
                    reason=f"record {winner[0]} of this push is about the same person and "
                    + ("newer" if winner[1].modified_at > record.modified_at else "as new"),
                )
            )
    return settled, [parsed for parsed in valid if latest[parsed[1].external_id] is parsed]


async def settle_unchanged(
    session: AsyncSession, run: HrisRun, raw_records: list[Raw]
) -> tuple[list[RecordResult], list[Raw]]:
    """Settle the records that repeat what is stored (the common case of a full sync): they
    are reported unchanged, or stale when older, without being parsed. The others are left
    for validation and the locked write."""
    counted = Counter(key for _, _, key in raw_records)
    wanted = [k for k, n in counted.items() if k is not None and n == 1]
    stored: dict[str, Any] = {}
    if wanted:
        dialect = session.get_bind().dialect.name
        # Only the external id in the query: it is the one selective index, and a planner
        # with stale statistics (a table that just grew) would otherwise pick another.
        stmt = select(
            EMPLOYEES.c.external_id,
            EMPLOYEES.c.id,
            EMPLOYEES.c.source_modified_at,
            EMPLOYEES.c.source_digest,
            EMPLOYEES.c.source,
        ).where(among(EMPLOYEES.c.external_id, wanted, dialect))
        stored = {
            row[0]: row
            for row in (await session.execute(stmt)).all()
            if row[4] == run.source and row[3] is not None
        }
    settled: list[RecordResult] = []
    rest: list[Raw] = []
    for index, raw, key in raw_records:
        row = stored.get(key) if key is not None else None
        at = _timestamp(raw.get("modified_at")) if row is not None else None
        if row is None or at is None or at > row[2] or not digest_matches(raw, row[3]):
            rest.append((index, raw, key))
        elif at == row[2]:
            settled.append(RecordResult(index, key, "unchanged", employee_id=row[1]))
        else:
            settled.append(
                RecordResult(
                    index,
                    key,
                    "stale",
                    employee_id=row[1],
                    reason=f"the stored record is newer ({row[2].isoformat()})",
                )
            )
    return settled, rest


def _timestamp(value: object) -> datetime | None:
    """An aware time from JSON text or, for Python callers such as the CSV import, a datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else None


class _CyclesFound(Exception):
    """Undo an attempt whose manager links closed a loop (the page is written again)."""

    def __init__(self, results: list[RecordResult], cycles: set[uuid.UUID]) -> None:
        super().__init__("cycles in the management chain")
        self.results, self.cycles = results, cycles


#: People a snapshot page's records say have left: {"id", "external_id", "modified_at",
#: "termination_date"} (ISO text; the date may be None).
Leaving = list[dict[str, str | None]]


async def apply_records(
    session: AsyncSession, actor: Actor, run: HrisRun, valid: list[Parsed]
) -> tuple[list[RecordResult], Leaving]:
    """Write the valid records of one page (the caller holds the run's lock).

    In a delta run a record saying someone left deactivates them now. In a snapshot run the
    rest of their record is written now, and they are returned as leaving: the run deactivates
    them when it commits, under its circuit breaker, with the termination date then stored."""
    if not valid:
        return [], []  # a page settled in full (the common case of a full sync) writes nothing
    refused: dict[int, RecordResult] = {}
    keep_waiting: set[uuid.UUID] = set()
    for _ in range(ATTEMPTS):
        batch = [parsed for parsed in valid if parsed[0] not in refused]
        try:
            # A savepoint: a page that must be written again leaves no trace of the attempt.
            async with session.begin_nested():
                results, cycles, leaving = await _write(session, actor, run, batch, keep_waiting)
                if cycles:
                    raise _CyclesFound(results, cycles)
        except IntegrityError:
            # A concurrent push created the same person (or took the e-mail) first: read again.
            continue
        except _CyclesFound as found:
            by_employee = {r.employee_id: r for r in found.results}
            for employee_id in found.cycles:
                result = by_employee.get(employee_id)
                if result is None:
                    keep_waiting.add(employee_id)  # an earlier report waiting for a manager
                    continue
                refused[result.index] = RecordResult(
                    result.index,
                    result.external_id,
                    "invalid",
                    field="manager_external_id",
                    reason="the manager reports to this employee (directly or indirectly): "
                    "that makes a cycle in the management chain",
                )
            continue
        return sorted([*results, *refused.values()], key=lambda r: r.index), leaving
    raise Conflict(
        "the push kept colliding with concurrent changes; retry it", rule="concurrent_push"
    )


async def _write(
    session: AsyncSession,
    actor: Actor,
    run: HrisRun,
    batch: list[Parsed],
    keep_waiting: set[uuid.UUID],
) -> tuple[list[RecordResult], set[uuid.UUID], Leaving]:
    if not batch:
        return [], set(), []
    now = utcnow()
    rows = await _current_rows(session, batch)
    by_ext = {r["external_id"]: r for r in rows if r["external_id"] is not None}
    by_email = {r["email_key"]: r for r in rows}
    managers = await _manager_ids(session, batch)
    plan = _Plan()
    results: list[RecordResult] = []
    wiring: list[tuple[dict[str, Any], int, uuid.UUID, uuid.UUID | None]] = []
    claimed: dict[str, int] = {}
    arriving = [r.external_id for _, r, _, _ in batch if r.external_id not in by_ext]
    new_ids = dict(zip(arriving, uuid7s(len(arriving)), strict=True))

    for index, record, digest, raw in batch:
        values = columns_of(record)
        email_key = values["email"].lower()
        desired_active = record.active and not _terminated(record)
        row = by_ext.get(record.external_id)
        owner = by_email.get(email_key)
        if row is None and owner is not None and owner["external_id"] is None:
            row = owner  # a person added by hand before the first sync: adopt them
        result = RecordResult(index, record.external_id, "invalid")
        results.append(result)
        if row is not None and row["source"] not in (None, run.source):
            # Two sources can use the same ids for different people: one must never overwrite
            # (or outdate) the other's person.
            result.field = "external_id"
            result.reason = (
                f"external id {record.external_id} belongs to an employee synced from "
                f"{row['source']}, not {run.source}"
            )
            continue
        if row is not None:
            result.employee_id = row["id"]
            stored_at: datetime | None = row["source_modified_at"]
            if stored_at is not None and record.modified_at < stored_at:
                result.outcome = "stale"
                result.reason = f"the stored record is newer ({stored_at.isoformat()})"
                continue
            if row["source"] == run.source and digest_matches(raw, row["source_digest"], digest):
                result.outcome = "unchanged"
                if stored_at is None or record.modified_at > stored_at:
                    plan.newer_stamps.append(
                        {"id": row["id"], "source_modified_at": record.modified_at}
                    )
                continue
        refusal = _refusal(actor, record, row, owner, email_key, claimed, desired_active)
        if refusal is not None:
            result.field, result.reason = refusal
            continue
        claimed[email_key] = index
        columns = {
            **values,
            "email_key": email_key,
            "external_id": record.external_id,
            "manager_id": None,  # resolved below, once every person of the page is known
            "source": run.source,
            "source_modified_at": record.modified_at,
            "source_digest": digest,
            "updated_at": now,
        }
        if row is None:
            employee_id = new_ids[record.external_id]
            result.outcome, result.employee_id = "created", employee_id
            plan.inserts.append(_new_row(employee_id, columns, desired_active, now))
            plan.arrived.append(record.external_id)
            wiring.append((plan.inserts[-1], index, employee_id, None))
            continue
        result.outcome = "updated"
        if row["active"] and not desired_active and run.kind == RunKind.SNAPSHOT:
            # Left, says the snapshot: the run deactivates them when it commits. Until then
            # the stored termination date stays (the maintenance job would act on a new one),
            # and no fingerprint: the same record in a later push applies again.
            plan.leaving.append(
                {
                    "id": str(row["id"]),
                    "external_id": record.external_id,
                    "modified_at": record.modified_at.isoformat(),
                    "termination_date": _iso(record.termination_date),
                }
            )
            columns["termination_date"] = row["termination_date"]
            columns["source_digest"] = None
        elif row["active"] and not desired_active:
            plan.deactivate.append(row["id"])
        plan.updates.append({"id": row["id"], "version": row["version"] + 1, **columns})
        wiring.append((plan.updates[-1], index, row["id"], row["manager_id"]))
        if row["external_id"] is None:
            plan.arrived.append(record.external_id)
        if desired_active and not row["active"]:
            plan.reactivate.append(row["id"])

    # Managers: people already stored, or arriving in this very page (in any order).
    known: dict[str, uuid.UUID] = dict(managers)
    known.update({r.external_id: r.employee_id for r in results if r.external_id and r.employee_id})
    for columns, index, employee_id, before in wiring:
        reference = columns["manager_external_id"]
        manager_id = known.get(reference) if reference is not None else None
        columns["manager_id"] = manager_id
        if manager_id is not None and manager_id != before:
            plan.manager_changed[employee_id] = index
    plan.inserts = _managers_first(plan.inserts, plan.late_links)

    linked = await _execute(session, actor, plan, keep_waiting, now)
    # People stored before point only at people stored before, so a new loop passes through
    # a changed manager, a linked waiting report or a deferred link (a loop of newcomers):
    # checking those finds whether there is one without walking up from every newcomer. When
    # there is, everyone who changed is checked, so the record that closed it is the one
    # refused (a newcomer naming a waiting report as manager, for one).
    inserted = {row["id"] for row in plan.inserts}
    suspects = [e for e in plan.manager_changed if e not in inserted]
    suspects += [link["id"] for link in plan.late_links]
    cycles = await _cycles(session, [*suspects, *linked])
    if cycles:
        cycles = await _cycles(session, [*plan.manager_changed, *linked])
    return results, cycles, plan.leaving


def _managers_first(
    rows: list[dict[str, Any]], late_links: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Order new people so each manager is written before their reports: the database checks
    every row's manager as it goes. People in a loop of new managers cannot be ordered; they
    are written without a manager and linked afterwards (where the cycle check finds them)."""
    by_id = {row["id"]: row for row in rows}
    depth: dict[uuid.UUID, int] = {}
    for row in rows:
        path: list[dict[str, Any]] = []
        on_path: set[uuid.UUID] = set()
        current: dict[str, Any] | None = row
        looped = False
        while current is not None and current["id"] not in depth:
            if current["id"] in on_path:
                looped = True
                break
            on_path.add(current["id"])
            path.append(current)
            current = by_id.get(current["manager_id"])
        if looped:
            for person in path:
                if person["manager_id"] in by_id:
                    late_links.append({"id": person["id"], "manager_id": person["manager_id"]})
                    person["manager_id"] = None
                depth[person["id"]] = 0
            continue
        level = 0 if current is None else depth[current["id"]] + 1
        for person in reversed(path):
            depth[person["id"]] = level
            level += 1
    return sorted(rows, key=lambda r: depth[r["id"]])


#: The reason recorded for people deactivated because their record says they left.
LEFT = "left (HRIS)"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _terminated(record: HrisRecord) -> bool:
    return record.termination_date is not None and record.termination_date <= utcnow().date()


def _refusal(
    actor: Actor,
    record: HrisRecord,
    row: dict[str, Any] | None,
    owner: dict[str, Any] | None,
    email_key: str,
    claimed: dict[str, int],
    desired_active: bool,
) -> tuple[str, str] | None:
    """Why a record that passed validation still cannot be applied, if it cannot."""
    if owner is not None and (row is None or owner["id"] != row["id"]):
        held_by = owner["external_id"] or owner["id"]
        reason = f"e-mail {record.email} already belongs to employee {held_by}"
        if not owner["active"]:
            # An address handed on to a new hire: the leaver's record keeps it until freed.
            reason += " (inactive: an admin can change their e-mail to free it)"
        return "email", reason
    if email_key in claimed:
        return "email", f"e-mail {record.email} is also used by record {claimed[email_key]}"
    if record.manager_external_id == record.external_id:
        return "manager_external_id", "an employee cannot be their own manager"
    # Whoever controls an admin's e-mail, or brings a deactivated admin back, holds admin
    # rights; an admin who left may be deprovisioned (see employees._guard_admin_record).
    if row is not None and row["is_admin"] and not actor.is_admin:
        if email_key != row["email_key"]:
            return "email", employees.ADMIN_RECORD
        if desired_active and not row["active"]:
            return "active", employees.ADMIN_RECORD
        stored_end = row["termination_date"]
        if stored_end is not None and record.termination_date != stored_end:
            return "termination_date", employees.ADMIN_RECORD
    return None


def _new_row(
    employee_id: uuid.UUID, columns: dict[str, Any], active: bool, now: datetime
) -> dict[str, Any]:
    return {
        **columns,
        "id": employee_id,
        "created_at": now,
        "version": 1,
        "active": active,
        "deactivated_at": None if active else now,
        "is_admin": False,
        "scim_removed_at": None,
    }


async def _current_rows(session: AsyncSession, batch: list[Parsed]) -> list[dict[str, Any]]:
    """The stored people these records are about, locked until the push commits."""
    ext_ids = [r.external_id for _, r, _, _ in batch]
    emails = [str(r.email).lower() for _, r, _, _ in batch]
    dialect = session.get_bind().dialect.name
    stmt = (
        select(
            EMPLOYEES.c.id,
            EMPLOYEES.c.external_id,
            EMPLOYEES.c.email_key,
            EMPLOYEES.c.source,
            EMPLOYEES.c.source_modified_at,
            EMPLOYEES.c.source_digest,
            EMPLOYEES.c.active,
            EMPLOYEES.c.is_admin,
            EMPLOYEES.c.manager_id,
            EMPLOYEES.c.version,
            EMPLOYEES.c.termination_date,
        )
        .where(
            # Two lookups joined, each by its own index (an OR of the two would scan).
            EMPLOYEES.c.id.in_(
                union_all(
                    select(EMPLOYEES.c.id).where(among(EMPLOYEES.c.external_id, ext_ids, dialect)),
                    select(EMPLOYEES.c.id).where(among(EMPLOYEES.c.email_key, emails, dialect)),
                )
            )
        )
        .order_by(EMPLOYEES.c.id)
        .with_for_update()
    )
    names = [c.name for c in stmt.selected_columns]
    return [dict(zip(names, row, strict=True)) for row in await session.execute(stmt)]


async def _manager_ids(session: AsyncSession, batch: list[Parsed]) -> dict[str, uuid.UUID]:
    refs = {r.manager_external_id for _, r, _, _ in batch if r.manager_external_id is not None}
    if not refs:
        return {}
    dialect = session.get_bind().dialect.name
    stmt = select(EMPLOYEES.c.external_id, EMPLOYEES.c.id).where(
        among(EMPLOYEES.c.external_id, refs, dialect)
    )
    found: dict[str, uuid.UUID] = {}
    for ext, employee_id in (await session.execute(stmt)).all():
        found[ext] = employee_id
    return found


EMPTY_PROFILE = {"skills": "'[]'", "interests": "'[]'", "languages": "'[]'"}


async def _execute(
    session: AsyncSession,
    actor: Actor,
    plan: _Plan,
    keep_waiting: set[uuid.UUID],
    now: datetime,
) -> list[uuid.UUID]:
    """Carry out a page's plan; returns the waiting reports it linked to their manager."""
    # New people start with empty profiles (the person fills them in, not the source).
    await bulk.insert_rows(session, EMPLOYEES, plan.inserts, constants=EMPTY_PROFILE)
    await bulk.update_rows(session, EMPLOYEES, plan.updates)
    await bulk.update_rows(session, EMPLOYEES, plan.late_links)
    await bulk.update_rows(session, EMPLOYEES, plan.newer_stamps)
    if plan.reactivate:
        await session.execute(
            update(EMPLOYEES)
            .where(EMPLOYEES.c.id.in_(plan.reactivate))
            .values(active=True, deactivated_at=None)
        )
    linked = await _link_waiting_reports(session, plan.arrived, keep_waiting, now)
    await employees.deactivate_people(session, actor, plan.deactivate, reason=LEFT)
    return linked


async def _link_waiting_reports(
    session: AsyncSession,
    arrived: list[str] | None,
    keep_waiting: set[uuid.UUID],
    now: datetime,
) -> list[uuid.UUID]:
    """People whose manager was named before they existed get linked now that they are here
    (``arrived``: the external ids new to the directory; ``None``: anyone's)."""
    if arrived is not None and not arrived:
        return []
    manager = _MANAGER
    named = manager.c.external_id == EMPLOYEES.c.manager_external_id
    manager_id = select(manager.c.id).where(named).scalar_subquery()
    where: list[ColumnElement[bool]] = [
        EMPLOYEES.c.manager_external_id.is_not(None),
        EMPLOYEES.c.manager_id.is_(None),
        select(manager.c.id).where(named).exists(),
    ]
    if arrived is not None:
        dialect = session.get_bind().dialect.name
        where.append(among(EMPLOYEES.c.manager_external_id, arrived, dialect))
    if keep_waiting:
        where.append(EMPLOYEES.c.id.not_in(keep_waiting))
    stmt = (
        update(EMPLOYEES)
        .where(*where)
        .values(manager_id=manager_id, version=EMPLOYEES.c.version + 1, updated_at=now)
        .returning(EMPLOYEES.c.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def link_pending_managers(session: AsyncSession) -> int:
    """Link everyone whose named manager is here but who is not linked to them yet.

    Two pushes running side by side can each miss the other's people (a report in one, their
    manager in the other); this sweep, run when a snapshot commits and by the maintenance
    loop, closes such gaps. Links that would make a cycle stay pending.
    """
    keep_waiting: set[uuid.UUID] = set()
    for _ in range(ATTEMPTS):
        try:
            async with session.begin_nested():
                linked = await _link_waiting_reports(session, None, keep_waiting, utcnow())
                cycles = await _cycles(session, linked)
                if cycles:
                    raise _CyclesFound([], cycles)
        except _CyclesFound as found:
            keep_waiting |= found.cycles
            continue
        return len(linked)
    return 0


async def _cycles(session: AsyncSession, changed: list[uuid.UUID]) -> set[uuid.UUID]:
    """The people among ``changed`` whose management chain leads back to themselves.

    Each walk up the chain is a set of (start, manager) pairs built with ``UNION``, which drops
    a pair already found: a walk ends at the top of the chain or where it comes round again,
    however long the chain (a loop that does not pass through its start ends too)."""
    if not changed:
        return set()
    up = (
        select(EMPLOYEES.c.id.label("start"), EMPLOYEES.c.manager_id.label("above"))
        .where(among(EMPLOYEES.c.id, changed, session.get_bind().dialect.name))
        .cte("up", recursive=True)
    )
    step = (
        select(up.c.start, EMPLOYEES.c.manager_id)
        .join(up, EMPLOYEES.c.id == up.c.above)
        .where(up.c.above != up.c.start)
    )
    up = up.union(step)
    stmt = select(up.c.start).where(up.c.above == up.c.start).distinct()
    return set((await session.execute(stmt)).scalars().all())


def record_page(run: HrisRun, results: list[RecordResult], *, max_errors: int = 1000) -> None:
    """Add a page's outcomes to its run's report."""
    counts = dict(run.counts)
    errors = list(run.errors)
    run.pages += 1
    run.records += len(results)
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        if result.outcome == "invalid":
            run.error_count += 1
            if len(errors) < max_errors:
                errors.append(
                    {
                        "page": run.pages,
                        "index": result.index,
                        "external_id": result.external_id,
                        "field": result.field,
                        "reason": result.reason,
                    }
                )
    run.counts = counts
    run.errors = errors


def audit_page(
    session: AsyncSession, actor: Actor, run: HrisRun, results: list[RecordResult]
) -> None:
    """One audit entry per page, naming the people it created and changed."""
    changed = {
        outcome: [str(r.employee_id) for r in results if r.outcome == outcome]
        for outcome in ("created", "updated")
    }
    audit.record(
        session,
        actor,
        action="hris.pushed",
        entity_type="hris_run",
        entity_id=run.id,
        details={"source": run.source, "page": run.pages, **changed},
    )
