"""Applying one page of HRIS records: validate each on its own, then write in bulk.

A page of up to 1,000 records costs a handful of statements whatever its size: one read of the
rows it touches (locked, so two pushes of the same person apply in order of their source
timestamps), a multi-row insert and update per slice of the page, and the manager links.
Records that say nothing new write nothing.

The page is written in slices so that the server's work and the database's overlap: while the
database writes one slice, the next is checked and planned (a thousand records' validation
is as long as the database's own write of them; taking turns would add the two up).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from operator import attrgetter, itemgetter
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import bulk
from app.db.models import Employee, HrisRun
from app.db.queries import (
    CHECK,
    OLDER,
    SAME,
    Fingerprinted,
    among,
    compare_fingerprints,
    rows_among,
)
from app.db.types import utcnow, uuid7s
from app.domain import audit, employees
from app.domain.actors import Actor
from app.domain.errors import Conflict
from app.domain.hris.records import (
    HrisRecord,
    SourceRecord,
    columns_of,
    digest_matches,
    digest_of,
    reason_of,
)

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


#: The order of a push's results: the order of its records.
BY_INDEX = attrgetter("index")


#: Records per slice of a page (see the module's docstring): small enough that the first
#: slice's planning, which nothing overlaps, is short; large enough that each statement still
#: carries hundreds of rows.
SLICE = 250


@dataclass
class _Plan:
    """What a page writes. Inserts and updates go out slice by slice (the lists hold the
    current slice's); the rest is written once the page's slices are in."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    inserted: set[uuid.UUID] = field(default_factory=set)
    touched: set[uuid.UUID] = field(default_factory=set)  # people this page created or changed
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
        if type(value) is str:  # (nearly always)
            value = value.strip()
            return value if value and len(value) <= 255 else None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            if value and len(value) <= 255:
                return value
    return None


#: A record of a push as it came: its position, the record, and its external id if usable.
Raw = tuple[int, Any, str | None]
#: A record's external id, read from its ``Raw``.
KEY = itemgetter(2)


def keyed(raw_records: list[Any]) -> list[Raw]:
    """The records of a push with their positions and external ids (read once per push).

    A record may come in its source's own form (``SourceRecord``): it stays in that form
    until its fingerprint is found to differ from the stored one, unless it has none.
    """
    keyed_records: list[Raw] = []
    for index, raw in enumerate(raw_records):
        if type(raw) is not dict and isinstance(raw, SourceRecord):
            if raw.fingerprint is not None:
                keyed_records.append((index, raw, raw.external_id))
                continue
            raw = raw.fields()
        keyed_records.append((index, raw, external_id_of(raw)))
    return keyed_records


def _fields(raw: Any) -> Any:
    """A record as a source would push it, read from its source's form if it is one."""
    return raw.fields() if isinstance(raw, SourceRecord) else raw


def _fingerprints(raw_records: list[Raw]) -> dict[int, str]:
    """Each record's fingerprint: what its source took of its own form, or else its digest
    (``keyed`` has read every form without a fingerprint)."""
    digests: dict[int, str] = {}
    for index, raw, _ in raw_records:
        if type(raw) is dict:
            digests[index] = digest_of(raw)
        elif isinstance(raw, SourceRecord):
            if raw.fingerprint is not None:
                digests[index] = raw.fingerprint
        elif isinstance(raw, dict):
            digests[index] = digest_of(raw)
    return digests


#: Position in the push, the record, its fingerprint, and the record as it was sent.
Parsed = tuple[int, HrisRecord, str, dict[str, Any]]


def _check(
    index: int, raw: Any, ext: str | None, digest: str | None = None
) -> RecordResult | Parsed:
    """One record checked on its own: its refusal, or the record to write (``digest``: its
    fingerprint, if taken already)."""
    try:
        record = HrisRecord.model_validate(raw)
    except ValidationError as exc:
        where, why = reason_of(exc)
        return RecordResult(index, ext, "invalid", field=where, reason=why)
    return index, record, digest or digest_of(raw), raw


def validate(
    raw_records: list[Raw], digests: dict[int, str] | None = None
) -> tuple[list[RecordResult], list[Parsed]]:
    """Each record checked on its own. The same person twice in one push: the newest record
    applies (of equal times, the later one, as two pushes in a row would), the others are
    reported stale. Returns the records settled here, and those to write (``digests``: the
    records' fingerprints taken already, by position)."""
    settled: list[RecordResult] = []
    valid: list[Parsed] = []
    taken = digests or {}
    for index, raw, ext in raw_records:
        checked = _check(index, raw, ext, taken.get(index))
        if isinstance(checked, RecordResult):
            settled.append(checked)
        else:
            valid.append(checked)
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


@dataclass
class _Keys:
    """Keys of people: what a page's records name, or what an attempt has looked up."""

    ext_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    newcomer_emails: set[str] = field(default_factory=set)  # of people nobody had just now
    managers: set[str] = field(default_factory=set)


#: Records checked at a time ahead of need: a statement's answer waits at most this long.
_AHEAD = 50


class _Checks:
    """A page's records, each checked once, when first needed: a slice's checks run while the
    database writes the slice before, and a page written again does not check them again."""

    def __init__(self, raw_records: list[Raw], digests: dict[int, str]) -> None:
        self.done: dict[int, RecordResult | Parsed] = {}
        self.digests = digests
        keys = [key for _, _, key in raw_records if key is not None]
        if len(set(keys)) != len(keys):
            # The same person twice: which of their records applies depends on every one of
            # them, so the page is checked in full first.
            settled, valid = validate(raw_records, digests)
            self.done.update({result.index: result for result in settled})
            self.done.update({parsed[0]: parsed for parsed in valid})

    async def ahead(self, raw_records: list[Raw]) -> None:
        """Check the records in turn, a few at a time, while the page waits for the database
        (run as a task beside the writing; each record is checked once, here or when needed)."""
        for start in range(0, len(raw_records), _AHEAD):
            self.of(raw_records[start : start + _AHEAD])
            await asyncio.sleep(0)

    def of(self, items: list[Raw]) -> list[RecordResult | Parsed]:
        checked = []
        for index, raw, ext in items:
            done = self.done.get(index)
            if done is None:
                done = self.done[index] = _check(index, raw, ext, self.digests.get(index))
            checked.append(done)
        return checked

    def keys(self, items: list[Raw], unknown: set[str]) -> _Keys:
        """The external ids, e-mail keys and managers' external ids the records name, read
        from the records as sent where they are not checked yet (a record whose checked value
        differs, a rare e-mail normalised by the validator, is looked up again when checked).
        The e-mails of records whose external id is ``unknown`` are kept apart."""
        keys = _Keys()
        for index, raw, ext in items:
            done = self.done.get(index)
            if isinstance(done, RecordResult):
                continue
            email: object
            manager: object
            if done is not None:
                record = done[1]
                ext, email, manager = record.external_id, record.email, record.manager_external_id
            elif isinstance(raw, dict):
                email, manager = raw.get("email"), raw.get("manager_external_id")
            else:
                continue
            if ext is not None:
                keys.ext_ids.add(ext)
            if isinstance(email, str):
                emails = keys.newcomer_emails if ext in unknown else keys.emails
                emails.add(email.strip().lower())
            if isinstance(manager, str) and manager.strip():
                keys.managers.add(manager.strip())
        return keys


@dataclass
class Unsettled:
    """The records of a push that need checking and writing, and the external ids found to
    name nobody stored (the write looks for them again only if it must try again)."""

    records: list[Raw]
    unknown: set[str]
    #: The records' fingerprints, where already taken (by position in the push).
    digests: dict[int, str] = field(default_factory=dict)


#: What settling a record reads of the stored person with its external id.
_SETTLE_COLUMNS = ("external_id", "id", "source_modified_at", "source_digest", "source")


async def settle_unchanged(
    session: AsyncSession, run: HrisRun, raw_records: list[Raw]
) -> tuple[list[RecordResult], Unsettled]:
    """Settle the records that repeat what is stored (the common case of a full sync): they
    are reported unchanged, or stale when older, without being parsed (nor, if they came in
    their source's own form, read into records). The others are left for validation and the
    locked write."""
    counted = Counter(map(KEY, raw_records))
    wanted = [k for k, n in counted.items() if n == 1 and k is not None]
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if wanted and on_postgresql and _fingerprinted(raw_records):
        return await _settle_in_database(session, run, raw_records, counted)
    stored: dict[str | None, Any] = {}
    unknown: set[str] = set()
    if wanted:
        # Only the external id in the query: it is the one selective index, and a planner
        # with stale statistics (a table that just grew) would otherwise pick another.
        reading = asyncio.ensure_future(
            rows_among(session, EMPLOYEES, _SETTLE_COLUMNS, "external_id", wanted)
        )
        await asyncio.sleep(0)  # the query goes out; the fingerprints are taken meanwhile
        try:
            digests = _fingerprints(raw_records)
        finally:
            found = await reading
        source = run.source
        stored = {row[0]: row for row in found if row[4] == source and row[3] is not None}
        unknown = set(wanted).difference(row[0] for row in found)
    else:
        digests = _fingerprints(raw_records)
    settled: list[RecordResult] = []
    rest: list[Raw] = []
    for index, raw, key in raw_records:
        row = stored.get(key)  # (a record without an external id finds no row)
        if row is None:
            rest.append((index, _fields(raw), key))
            continue
        if isinstance(raw, SourceRecord):
            at = raw.modified_at
        else:
            at = _timestamp(raw.get("modified_at"))
        digest = digests.get(index)
        if (
            at is None
            or at > row[2]
            # A form is read into a record only for a fingerprint of another scheme.
            or (row[3] != digest and not digest_matches(_fields(raw), row[3], digest))
        ):
            rest.append((index, _fields(raw), key))
        elif at == row[2]:
            settled.append(RecordResult(index, key, "unchanged", row[1]))
        else:
            settled.append(_stale(index, key, row[1], row[2]))
    return settled, Unsettled(rest, unknown, digests)


def _fingerprinted(raw_records: list[Raw]) -> bool:
    """Whether every record came fingerprinted by its source (a CSV import's rows)."""
    return all(isinstance(raw, SourceRecord) for _, raw, _ in raw_records)


async def _settle_in_database(
    session: AsyncSession, run: HrisRun, raw_records: list[Raw], counted: Counter[str | None]
) -> tuple[list[RecordResult], Unsettled]:
    """``settle_unchanged`` for records that all came fingerprinted by their source, on
    PostgreSQL: the fingerprints and times go to the database, which compares them with the
    stored ones and sends back little more than the ids of the unchanged (their stored times
    and fingerprints cost more to receive than the rest of the comparison)."""
    entries: list[Fingerprinted] = []
    digests: dict[int, str] = {}
    for index, raw, key in raw_records:
        digests[index] = raw.fingerprint
        if key is not None and counted[key] == 1:
            entries.append((index, key, raw.fingerprint, raw.modified_at))
    found = await compare_fingerprints(session, EMPLOYEES, run.source, entries)
    compared = {row[0]: row for row in found}
    unknown = {key for index, key, _, _ in entries if index not in compared}
    settled: list[RecordResult] = []
    rest: list[Raw] = []
    for index, raw, key in raw_records:
        row = compared.get(index)
        if row is None or row[2] == CHECK:
            rest.append((index, raw.fields(), key))
        elif row[2] == SAME:
            settled.append(RecordResult(index, key, "unchanged", row[1]))
        elif row[2] == OLDER or digest_matches(raw.fields(), row[4], raw.fingerprint):
            # (OTHER: a fingerprint of another scheme, which the record may still match)
            if raw.modified_at == row[3]:
                settled.append(RecordResult(index, key, "unchanged", row[1]))
            else:
                settled.append(_stale(index, key, row[1], row[3]))
        else:
            rest.append((index, raw.fields(), key))
    return settled, Unsettled(rest, unknown, digests)


def _stale(
    index: int, key: str | None, employee_id: uuid.UUID, stored_at: datetime
) -> RecordResult:
    """The result of a record that says what is stored, as of an older time."""
    return RecordResult(
        index,
        key,
        "stale",
        employee_id=employee_id,
        reason=f"the stored record is newer ({stored_at.isoformat()})",
    )


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
    session: AsyncSession, actor: Actor, run: HrisRun, unsettled: Unsettled
) -> tuple[list[RecordResult], Leaving]:
    """Check and write the records of one page that need it (the caller holds the run's lock).

    In a delta run a record saying someone left deactivates them now. In a snapshot run the
    rest of their record is written now, and they are returned as leaving: the run deactivates
    them when it commits, under its circuit breaker, with the termination date then stored."""
    raw_records = unsettled.records
    if not raw_records:
        return [], []  # a page settled in full (the common case of a full sync) writes nothing
    checks = _Checks(raw_records, unsettled.digests)
    ahead = asyncio.ensure_future(checks.ahead(raw_records))
    try:
        return await _attempts(session, actor, run, unsettled, checks)
    finally:
        ahead.cancel()
        if ahead.done() and not ahead.cancelled():
            # An error the checks ahead met, the page met too, checking the same record, and
            # reports: the task's copy is only marked as read (not logged as lost).
            ahead.exception()


async def _attempts(
    session: AsyncSession, actor: Actor, run: HrisRun, unsettled: Unsettled, checks: _Checks
) -> tuple[list[RecordResult], Leaving]:
    refused: dict[int, RecordResult] = {}
    keep_waiting: set[uuid.UUID] = set()
    # Nobody had these external ids a moment ago: the first attempt does not look for them
    # again. Someone given one since makes the attempt collide, and the next looks for all.
    unknown = unsettled.unknown
    raw_records = unsettled.records
    for _ in range(ATTEMPTS):
        items = [item for item in raw_records if item[0] not in refused]
        try:
            # A savepoint: a page that must be written again leaves no trace of the attempt.
            async with session.begin_nested():
                writer = _Writer(session, actor, run, checks, keep_waiting)
                results, cycles, leaving = await writer.write(items, unknown)
                if cycles:
                    raise _CyclesFound(results, cycles)
        except IntegrityError:
            # A concurrent push created the same person (or took the e-mail) first: read again.
            unknown = set()
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
        return sorted([*results, *refused.values()], key=BY_INDEX), leaving
    raise Conflict(
        "the push kept colliding with concurrent changes; retry it", rule="concurrent_push"
    )


class _Writer:
    """One attempt at writing a page: its rows read once, then slice after slice checked and
    planned while the database writes the slice before."""

    def __init__(
        self,
        session: AsyncSession,
        actor: Actor,
        run: HrisRun,
        checks: _Checks,
        keep_waiting: set[uuid.UUID],
    ) -> None:
        self.session, self.actor, self.run = session, actor, run
        self.checks, self.keep_waiting = checks, keep_waiting
        self.now = utcnow()
        self.by_ext: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}
        self.looked_up = _Keys()  # what this attempt has read (or knows nobody has)
        # Managers: people already stored, or arriving in this very page.
        self.known: dict[str, uuid.UUID] = {}
        self.claimed: dict[str, int] = {}
        self.plan = _Plan()
        self.results: list[RecordResult] = []
        self.writing: asyncio.Future[None] | None = None

    async def write(
        self, items: list[Raw], unknown: set[str]
    ) -> tuple[list[RecordResult], set[uuid.UUID], Leaving]:
        keys = self.checks.keys(items, unknown)
        await self._read(keys.ext_ids - unknown, keys.emails, keys.managers)
        # Nobody had these external ids a moment ago: as good as read. Nor are the e-mails of
        # these newcomers looked up: the database's unique index guards them, and one taken
        # after all (a person added by hand, to adopt; a colleague's address) makes the
        # attempt collide, and the next look everyone up.
        self.looked_up.ext_ids |= unknown
        self.looked_up.emails |= keys.newcomer_emails
        try:
            for start in range(0, len(items), SLICE):
                checked = self.checks.of(items[start : start + SLICE])
                await asyncio.sleep(0)  # let the slice being written go on
                valid = [c for c in checked if not isinstance(c, RecordResult)]
                self.results += [c for c in checked if isinstance(c, RecordResult)]
                await self._read_missing(valid)
                self._plan_slice(valid)
                await self._written()
                inserts, updates = self.plan.inserts, self.plan.updates
                self.plan.inserts, self.plan.updates = [], []
                self.writing = asyncio.ensure_future(self._send(inserts, updates))
                await asyncio.sleep(0)  # it sends its statement before the next slice's checks
            await self._written()
        finally:
            if self.writing is not None:
                # Never leave a statement running on the connection: the attempt is over, and
                # what failed first is what it reports.
                with contextlib.suppress(Exception):
                    await self.writing
        linked = await _execute(self.session, self.actor, self.plan, self.keep_waiting, self.now)
        # People stored before point only at people stored before, so a new loop passes
        # through a changed manager, a linked waiting report or a deferred link (a loop of
        # newcomers): checking those finds whether there is one without walking up from every
        # newcomer. When there is, everyone who changed is checked, so the record that closed
        # it is the one refused (a newcomer naming a waiting report as manager, for one).
        plan = self.plan
        suspects = [e for e in plan.manager_changed if e not in plan.inserted]
        suspects += [link["id"] for link in plan.late_links]
        cycles = await _cycles(self.session, [*suspects, *linked])
        if cycles:
            cycles = await _cycles(self.session, [*plan.manager_changed, *linked])
        return self.results, cycles, plan.leaving

    async def _written(self) -> None:
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await writing

    async def _send(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        # New people start with empty profiles (the person fills them in, not the source).
        await bulk.insert_rows(self.session, EMPLOYEES, inserts, constants=EMPTY_PROFILE)
        await bulk.update_rows(self.session, EMPLOYEES, updates)

    async def _read(self, ext_ids: set[str], emails: set[str], managers: set[str]) -> None:
        """The stored people these keys name (locked), and the managers they name."""
        for row in await _current_rows(self.session, ext_ids, emails):
            # Not the people this page has written: what a record may take from them (an
            # e-mail) is settled by the page's own claims, as if they were read before.
            if row["id"] in self.plan.touched:
                continue
            if row["external_id"] is not None:
                self.by_ext[row["external_id"]] = row
            self.by_email[row["email_key"]] = row
        for ext, employee_id in (await _manager_ids(self.session, managers)).items():
            self.known.setdefault(ext, employee_id)
        self.looked_up.ext_ids |= ext_ids
        self.looked_up.emails |= emails
        self.looked_up.managers |= managers

    async def _read_missing(self, valid: list[Parsed]) -> None:
        """Look up what a checked record names that its raw form did not (rare)."""
        seen = self.looked_up
        ext_ids = {r.external_id for _, r, _, _ in valid} - seen.ext_ids
        emails = {r.email.lower() for _, r, _, _ in valid} - seen.emails
        managers = {
            r.manager_external_id for _, r, _, _ in valid if r.manager_external_id is not None
        } - seen.managers
        if ext_ids or emails or managers:
            await self._written()  # one statement at a time on the connection
            await self._read(ext_ids, emails, managers)

    def _plan_slice(self, valid: list[Parsed]) -> None:
        plan, now = self.plan, self.now
        # The run's attributes read once: an ORM attribute costs a descriptor call each time.
        source, snapshot = self.run.source, self.run.kind == RunKind.SNAPSHOT
        by_ext, by_email, claimed = self.by_ext, self.by_email, self.claimed
        wiring: list[tuple[dict[str, Any], int, uuid.UUID, uuid.UUID | None]] = []
        arriving = [r.external_id for _, r, _, _ in valid if r.external_id not in by_ext]
        new_ids = dict(zip(arriving, uuid7s(len(arriving)), strict=True))
        today = now.date()
        for index, record, digest, raw in valid:
            columns = columns_of(record)
            email_key = columns["email"].lower()
            ends = record.termination_date
            desired_active = record.active and (ends is None or ends > today)
            row = by_ext.get(record.external_id)
            owner = by_email.get(email_key)
            if row is None and owner is not None and owner["external_id"] is None:
                row = owner  # a person added by hand before the first sync: adopt them
            result = RecordResult(index, record.external_id, "invalid")
            self.results.append(result)
            if row is not None and row["source"] not in (None, source):
                # Two sources can use the same ids for different people: one must never
                # overwrite (or outdate) the other's person.
                result.field = "external_id"
                result.reason = (
                    f"external id {record.external_id} belongs to an employee synced from "
                    f"{row['source']}, not {source}"
                )
                continue
            if row is not None:
                result.employee_id = row["id"]
                self.known[record.external_id] = row["id"]
                stored_at: datetime | None = row["source_modified_at"]
                if stored_at is not None and record.modified_at < stored_at:
                    result.outcome = "stale"
                    result.reason = f"the stored record is newer ({stored_at.isoformat()})"
                    continue
                if row["source"] == source and digest_matches(raw, row["source_digest"], digest):
                    result.outcome = "unchanged"
                    if stored_at is None or record.modified_at > stored_at:
                        plan.newer_stamps.append(
                            {"id": row["id"], "source_modified_at": record.modified_at}
                        )
                    continue
            refusal = _refusal(self.actor, record, row, owner, email_key, claimed, desired_active)
            if refusal is not None:
                result.field, result.reason = refusal
                continue
            claimed[email_key] = index
            columns.update(
                email_key=email_key,
                external_id=record.external_id,
                manager_id=None,  # resolved below, once every person of the slice is known
                source=source,
                source_modified_at=record.modified_at,
                source_digest=digest,
                updated_at=now,
            )
            if row is None:
                employee_id = new_ids[record.external_id]
                result.outcome, result.employee_id = "created", employee_id
                self.known[record.external_id] = employee_id
                plan.inserts.append(_new_row(employee_id, columns, desired_active, now))
                plan.inserted.add(employee_id)
                plan.touched.add(employee_id)
                plan.arrived.append(record.external_id)
                wiring.append((plan.inserts[-1], index, employee_id, None))
                continue
            result.outcome = "updated"
            plan.touched.add(row["id"])
            if row["active"] and not desired_active and snapshot:
                # Left, says the snapshot: the run deactivates them when it commits. Until then
                # the stored termination date stays (the maintenance job would act on a new
                # one), and no fingerprint: the same record in a later push applies again.
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
            columns.update(id=row["id"], version=row["version"] + 1)
            plan.updates.append(columns)
            wiring.append((plan.updates[-1], index, row["id"], row["manager_id"]))
            if row["external_id"] is None:
                plan.arrived.append(record.external_id)
            if desired_active and not row["active"]:
                plan.reactivate.append(row["id"])

        # Managers stored before, or arriving in this page up to this slice (in any order); a
        # manager arriving in a later slice links their reports when they do.
        known = self.known
        for columns, index, employee_id, before in wiring:
            reference = columns["manager_external_id"]
            manager_id = known.get(reference) if reference is not None else None
            columns["manager_id"] = manager_id
            if manager_id is not None and manager_id != before:
                plan.manager_changed[employee_id] = index
        plan.inserts = _managers_first(plan.inserts, plan.late_links)


def _managers_first(
    rows: list[dict[str, Any]], late_links: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Order new people so each manager is written before their reports: the database checks
    every row's manager as it goes. People in a loop of new managers cannot be ordered; they
    are written without a manager and linked afterwards (where the cycle check finds them)."""
    by_id = {row["id"]: row for row in rows}
    if not any(row["manager_id"] in by_id for row in rows):
        return rows  # nobody's manager is new with them (managers mostly come on earlier pages)
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
    """``columns`` made a new person's row (in place: a thousand rows a page)."""
    columns.update(
        id=employee_id,
        created_at=now,
        version=1,
        active=active,
        deactivated_at=None if active else now,
        is_admin=False,
        scim_removed_at=None,
    )
    return columns


async def _current_rows(
    session: AsyncSession, ext_ids: set[str], emails: set[str]
) -> list[dict[str, Any]]:
    """The stored people with these external ids or e-mail keys, locked until the push
    commits."""
    if not ext_ids and not emails:
        return []  # a page of newcomers (their keys were just found unknown)
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


async def _manager_ids(session: AsyncSession, refs: set[str]) -> dict[str, uuid.UUID]:
    rows = await rows_among(session, EMPLOYEES, ("external_id", "id"), "external_id", refs)
    return dict(rows)


EMPTY_PROFILE: dict[str, list[str]] = {"skills": [], "interests": [], "languages": []}


async def _execute(
    session: AsyncSession,
    actor: Actor,
    plan: _Plan,
    keep_waiting: set[uuid.UUID],
    now: datetime,
) -> list[uuid.UUID]:
    """Carry out what a page writes once its slices are in; returns the waiting reports it
    linked to their manager."""
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


#: A record's outcome, read from its result.
OUTCOME = attrgetter("outcome")
#: Outcomes a page's report counts without listing (the rest name people or problems).
_QUIET = frozenset({"unchanged", "stale"})


@dataclass
class PageReport:
    """What a page adds to its run's report and audit entry, worked out from its results
    alone (so it can be, while the page's own statements run)."""

    records: int
    counts: dict[str, int]
    errors: list[dict[str, Any]]  # the rejected records, without their page's number
    changed: dict[str, list[str]]  # created and updated employee ids


def summarise(results: list[RecordResult], *, max_errors: int = 1000) -> PageReport:
    counts = dict(Counter(map(OUTCOME, results)))
    errors: list[dict[str, Any]] = []
    changed: dict[str, list[str]] = {"created": [], "updated": []}
    if counts.keys() <= _QUIET:
        return PageReport(len(results), counts, errors, changed)  # nothing to list
    for result in results:
        outcome = result.outcome
        if outcome == "invalid":
            if len(errors) < max_errors:
                errors.append(
                    {
                        "index": result.index,
                        "external_id": result.external_id,
                        "field": result.field,
                        "reason": result.reason,
                    }
                )
        elif outcome in changed:
            changed[outcome].append(str(result.employee_id))
    return PageReport(len(results), counts, errors, changed)


def record_page(run: HrisRun, page: PageReport, *, max_errors: int = 1000) -> None:
    """Add a page's outcomes to its run's report (the run's first 1,000 errors are kept)."""
    counts = dict(run.counts)
    for outcome, count in page.counts.items():
        counts[outcome] = counts.get(outcome, 0) + count
    run.pages += 1
    run.records += page.records
    run.error_count += page.counts.get("invalid", 0)
    room = max_errors - len(run.errors)
    if room > 0 and page.errors:
        run.errors = [*run.errors, *({"page": run.pages, **e} for e in page.errors[:room])]
    run.counts = counts


def audit_page(session: AsyncSession, actor: Actor, run: HrisRun, page: PageReport) -> None:
    """One audit entry per page, naming the people it created and changed."""
    audit.record(
        session,
        actor,
        action="hris.pushed",
        entity_type="hris_run",
        entity_id=run.id,
        details={"source": run.source, "page": run.pages, **page.changed},
    )
