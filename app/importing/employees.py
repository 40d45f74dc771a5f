"""Importing employees from an HRIS's CSV export through the HRIS sync services.

The rows are pushed in batches of at most 1,000 records, each batch in its own transaction, so
memory stays bounded by the batch size whatever the file's length. On PostgreSQL a few batches
are in flight at once, so reading and checking the next rows overlaps the database writing the
last ones; their outcomes are still taken, and rejected rows written to the errors file, in the
order of the file.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database, database_failure
from app.db.models import HrisRun
from app.domain import hris
from app.domain.actors import Actor
from app.domain.errors import DomainError
from app.domain.hris.records import SourceName
from app.importing import DEFAULT_BATCH
from app.importing.export import (
    EXTRA_CELLS,
    EmployeeCsv,
    ErrorsFile,
    ImportProblem,
    Row,
    extra_cells_reason,
)
from app.loop import run

#: The outcomes of a record, in the order a report lists them.
OUTCOMES = ("created", "updated", "unchanged", "stale", "invalid")


@dataclass(frozen=True)
class ImportOptions:
    """What to do with the rows."""

    source: str = "csv"
    dry_run: bool = False
    snapshot: bool = False
    batch_size: int = DEFAULT_BATCH
    #: Batches in flight at once (PostgreSQL; a dry run, in one transaction, pushes one).
    parallel: int = 1


@dataclass
class SnapshotReport:
    """How a snapshot run ended."""

    run_id: uuid.UUID
    status: str
    active_before: int
    to_deactivate: int
    deactivated: int
    hold_reason: str | None

    @property
    def held(self) -> bool:
        return self.status == hris.RunStatus.HELD.value

    @classmethod
    def of(cls, run: HrisRun) -> SnapshotReport:
        return cls(
            run_id=run.id,
            status=run.status,
            active_before=run.active_before or 0,
            to_deactivate=run.to_deactivate or 0,
            deactivated=run.deactivated,
            hold_reason=run.hold_reason,
        )


@dataclass
class ImportReport:
    """What an import did, row outcomes first."""

    path: Path
    errors_path: Path
    source: str
    dry_run: bool
    modified_at_from: str
    ignored_columns: tuple[str, ...] = ()
    rows: int = 0
    batches: int = 0
    last_line: int = 1
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    snapshot: SnapshotReport | None = None
    #: Batches that failed while later ones, in flight beside them, were pushed: (first line,
    #: last line) of each.
    not_pushed: list[tuple[int, int]] = field(default_factory=list)


ProgressCallback = Callable[[int, int], None]  # rows done, bytes read


def check_source(source: str) -> str:
    """The source name, as the bulk API would accept it."""
    try:
        return TypeAdapter(SourceName).validate_python(source)
    except ValidationError as exc:
        raise ImportProblem(
            f"--source {source!r}: letters, digits, '.', '_' or '-', at most 64 characters"
        ) from exc


def import_employees(
    settings: Settings,
    export: EmployeeCsv,
    errors: ErrorsFile,
    options: ImportOptions,
    progress: ProgressCallback,
    *,
    prepare: Callable[[Database], Awaitable[object]] | None = None,
) -> ImportReport:
    """Push the export's rows through the HRIS sync services; report what happened.

    ``prepare`` runs first, on the import's database (the CLI checks the schema with it)."""
    report = ImportReport(
        path=export.path,
        errors_path=errors.path,
        source=check_source(options.source),
        dry_run=options.dry_run,
        modified_at_from=export.modified_at_from,
        ignored_columns=export.columns.ignored,
    )
    run(_import(settings, export, errors, options, report, progress, prepare))
    return report


async def _import(
    settings: Settings,
    export: EmployeeCsv,
    errors: ErrorsFile,
    options: ImportOptions,
    report: ImportReport,
    progress: ProgressCallback,
    prepare: Callable[[Database], Awaitable[object]] | None,
) -> None:
    db = Database(settings)
    sync = _Sync(db, export, errors, options, report, progress)
    try:
        if prepare is not None:
            await prepare(db)
        if not options.dry_run:
            await sync.run(lambda: _own_transaction(db))
            return
        # A dry run does the real work in one transaction and rolls it back, so every
        # outcome (later batches seeing earlier ones, the circuit breaker) is the real one.
        async with db.session() as session:
            try:
                await sync.run(lambda: _shared_transaction(session))
            finally:
                await session.rollback()
    finally:
        await db.dispose()


@asynccontextmanager
async def _own_transaction(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.session() as session:
        yield session
        await session.commit()


@asynccontextmanager
async def _shared_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    yield session
    await session.flush()


Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]

EXTERNAL_ID = attrgetter("external_id")


@dataclass
class _InFlight:
    """A batch being pushed, and the people it names (external ids and e-mails)."""

    batch: list[Row]
    people: set[str | None]
    task: asyncio.Task[list[hris.RecordResult]]


def _people_of(batch: list[Row], email_at: int | None) -> set[str | None]:
    """The external ids and e-mail keys a batch names (``email_at``: the e-mail's column)."""
    people: set[str | None] = set(map(EXTERNAL_ID, batch))
    if email_at is not None:
        people.update([r.cells[email_at].strip().lower() for r in batch if email_at < len(r.cells)])
    people.difference_update((None, ""))
    return people


class _Sync:
    """One import's pushes: a delta run per batch, or one snapshot run with a page per batch."""

    def __init__(
        self,
        db: Database,
        export: EmployeeCsv,
        errors: ErrorsFile,
        options: ImportOptions,
        report: ImportReport,
        progress: ProgressCallback,
    ) -> None:
        self.db = db
        self.export = export
        self.errors = errors
        self.options = options
        self.report = report
        self.progress = progress
        self.actor = Actor.system()

    async def run(self, unit: Unit) -> None:
        run_id: uuid.UUID | None = None
        try:
            if self.options.snapshot:
                async with unit() as session:
                    run = await hris.open_snapshot(session, self.actor, source=self.report.source)
                    run_id = run.id
            if self.parallel > 1:
                await self._push_in_parallel(unit, run_id)
            else:
                for batch in self.export.batches(self.options.batch_size):
                    async with unit() as session:
                        results = await self._push(session, run_id, batch)
                    self._tally(batch, results)
            if run_id is not None:
                async with unit() as session:
                    run = await hris.commit_snapshot(
                        session,
                        self.actor,
                        run_id,
                        max_share=self.db.settings.hris_max_deactivation_share,
                    )
                self.report.snapshot = SnapshotReport.of(run)
        except BaseException as exc:
            # Whatever stopped the import, an open snapshot run must not linger: it would
            # block the source's next full sync. Aborting deactivates nobody.
            aborted = await self._abort(run_id) if not self.options.dry_run else None
            if isinstance(exc, DomainError | ImportProblem):
                raise ImportProblem(self._stopped(str(exc), aborted), self.report) from exc
            failure = database_failure(exc)
            if failure is not None:  # it went away, or refused: say how far the import got
                why = f"the database failed: {failure}"
                raise ImportProblem(self._stopped(why, aborted), self.report) from exc
            raise

    @property
    def parallel(self) -> int:
        return 1 if self.options.dry_run else max(1, self.options.parallel)

    async def _push_in_parallel(self, unit: Unit, run_id: uuid.UUID | None) -> None:
        """Keep up to ``parallel`` batches in flight, each in its own transaction; take their
        outcomes in the order of the file."""
        in_flight: deque[_InFlight] = deque()
        email_at = self.export.columns.positions.get("email")
        try:
            for batch in self.export.batches(self.options.batch_size):
                people = _people_of(batch, email_at)
                # A batch naming someone a batch in flight names too waits for that one, so
                # the later row applies after the earlier, as one batch at a time would.
                while in_flight and (
                    len(in_flight) >= self.parallel
                    or not all(people.isdisjoint(pushing.people) for pushing in in_flight)
                ):
                    await self._take_oldest(in_flight)
                task = asyncio.create_task(self._push_batch(unit, run_id, batch))
                in_flight.append(_InFlight(batch, people, task))
            while in_flight:
                await self._take_oldest(in_flight)
        except BaseException:
            await self._settle(in_flight)
            raise
        if run_id is None:
            # Batches side by side may each miss the other's people (a report in one, the
            # manager in the other); link them now. A snapshot's commit does the same.
            async with unit() as session:
                await hris.link_pending_managers(session)

    async def _settle(self, in_flight: deque[_InFlight]) -> None:
        """After a failure: let the batches in flight finish, and report those that did."""
        outcomes = await asyncio.gather(*(p.task for p in in_flight), return_exceptions=True)
        for pushing, outcome in zip(in_flight, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self.report.not_pushed.append((pushing.batch[0].line, pushing.batch[-1].line))
            else:
                self._tally(pushing.batch, outcome)

    async def _take_oldest(self, in_flight: deque[_InFlight]) -> None:
        # Left in flight until it has succeeded: a failure is reported by ``_settle``.
        results = await in_flight[0].task
        self._tally(in_flight.popleft().batch, results)

    async def _push_batch(
        self, unit: Unit, run_id: uuid.UUID | None, batch: list[Row]
    ) -> list[hris.RecordResult]:
        async with unit() as session:
            return await self._push(session, run_id, batch)

    async def _push(
        self, session: AsyncSession, run_id: uuid.UUID | None, batch: list[Row]
    ) -> list[hris.RecordResult]:
        # The rows as they are: the push reads a row's record only if its fingerprint is
        # not the one stored.
        records: list[Any] = list(batch)
        limit = self.options.batch_size
        if run_id is None:
            _run, results = await hris.push_delta(
                session, self.actor, source=self.report.source, records=records, max_records=limit
            )
        else:
            _run, results = await hris.push_snapshot_page(
                session, self.actor, run_id, records=records, max_records=limit
            )
        return results

    def _tally(self, batch: list[Row], results: list[hris.RecordResult]) -> None:
        report = self.report
        for outcome, count in Counter(map(hris.OUTCOME, results)).items():
            report.counts[outcome] = report.counts.get(outcome, 0) + count
        for result in [r for r in results if r.outcome == "invalid"]:
            row = batch[result.index]
            if EXTRA_CELLS in row.record:
                where, reason = None, extra_cells_reason(row, len(self.export.header))
            else:
                where, reason = result.field, result.reason or "invalid"
            self.errors.write(row, result.external_id, where, reason)
        self.errors.flush()
        report.rows += len(batch)
        report.batches += 1
        report.last_line = batch[-1].line
        self.progress(report.rows, self.export.bytes_read)

    async def _abort(self, run_id: uuid.UUID | None) -> str | None:
        if run_id is None:
            return None
        try:
            async with _own_transaction(self.db) as session:
                await hris.abort_run(session, self.actor, run_id)
        except Exception as exc:  # the database may be what failed; say what is left to do
            return (
                f"the snapshot run {run_id} could not be aborted ({exc}); abort it with "
                f"POST /api/v1/hris/runs/{run_id}/abort"
            )
        return f"the snapshot run {run_id} was aborted: nobody was deactivated"

    def _stopped(self, why: str, aborted: str | None) -> str:
        report = self.report
        batches = "1 batch" if report.batches == 1 else f"{report.batches} batches"
        parts = [why]
        if report.rows and not self.options.dry_run and not report.not_pushed:
            parts.append(
                f"the {report.rows} rows up to line {report.last_line} were pushed "
                f"({batches}) and stay applied"
            )
        elif report.rows and not self.options.dry_run:
            failed = ", ".join(f"{first} to {last}" for first, last in report.not_pushed)
            parts.append(
                f"{report.rows} rows ({batches}) were pushed and stay applied, "
                f"but not the rows on lines {failed}"
            )
        if aborted is not None:
            parts.append(aborted)
        return "; ".join(parts)
