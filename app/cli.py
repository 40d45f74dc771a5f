"""The ``revmentor`` command line: serve, migrate, tokens, demo data, imports, OpenAPI export."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from app.config import ConfigurationError, Settings, check_settings, get_settings
from app.domain.errors import DomainError
from app.heap import resume_collection, settle_startup_heap
from app.importing import DEFAULT_BATCH, MAX_BATCH
from app.importing.columns import REQUIRED_COLUMNS, describe_columns

if TYPE_CHECKING:
    from rich.console import Console

    from app.db.engine import Database
    from app.importing.employees import ImportReport


class _Commands(TyperGroup):
    """The commands, each of which says so in one line when the database cannot be used (not
    reached, the login refused), instead of printing a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from app.db.engine import database_failure, shown_url

            failure = database_failure(exc)
            if failure is None:
                raise
            url = shown_url(get_settings().database_url)
            typer.echo(f"error: cannot use the database at {url}: {failure}", err=True)
            raise typer.Exit(EXIT_DATABASE_FAILED) from exc


#: The exit code of any command that could not use the database.
EXIT_DATABASE_FAILED = 1

cli = typer.Typer(
    cls=_Commands,
    help="Revmentor: reverse-mentoring programs, as a service.",
    no_args_is_help=True,
)


@cli.callback()
def _started(ctx: typer.Context) -> None:
    # The cycle collector was paused while the program loaded (``app.command``): it is back
    # on as a command starts, except for an import, which loads more first.
    if ctx.invoked_subcommand != "import":
        resume_collection()


token_cli = typer.Typer(help="Issue and revoke API tokens.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")
import_cli = typer.Typer(help="Import records from files.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")

OPENAPI_PATH = Path("openapi/openapi.json")
GRAPHQL_SDL_PATH = Path("openapi/schema.graphql")


def _settings() -> Settings:
    settings = get_settings()
    try:
        check_settings(settings)
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


async def _migrate(settings: Settings) -> tuple[str | None, str | None]:
    """Bring the database to the latest migration; its revision and the head afterwards."""
    from app.db.engine import Database

    db = Database(settings)
    try:
        return await _migrate_on(db)
    finally:
        await db.dispose()


async def _migrate_on(db: Database) -> tuple[str | None, str | None]:
    """``_migrate`` through a database the caller goes on using."""
    from app.db.revision import SCHEMA_HEAD, is_at_head

    if await is_at_head(db.engine):
        return SCHEMA_HEAD, SCHEMA_HEAD  # the common case, without loading Alembic
    from app.db.migrations import revision_status, upgrade

    await upgrade(db.engine)
    return await revision_status(db.engine)


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (the only way schemas are made)."""
    settings = _settings()
    current, _head = asyncio.run(_migrate(settings))
    typer.echo(f"database at revision {current}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Serve the API (migrating the database first unless told not to)."""
    import uvicorn

    settings = _settings()
    if migrate_first:
        asyncio.run(_migrate(settings))
    if workers > 1 and settings.is_sqlite:
        typer.echo("error: several workers need PostgreSQL; SQLite is for one process", err=True)
        raise typer.Exit(2)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


async def _create_token(
    settings: Settings,
    *,
    name: str,
    email: str | None,
    role: str,
    service: str | None,
    scopes: list[str],
    days: int | None,
) -> str:
    from app.db.engine import Database
    from app.domain import employees, tokens
    from app.domain.actors import Actor, Scope

    actor = Actor.system()
    db = Database(settings)
    try:
        async with db.session() as session:
            employee_id = None
            if email is not None:
                employee = await employees.find_by_email(session, email)
                if employee is None:
                    # A fresh install bootstraps its first admin this way.
                    local = email.split("@", 1)[0]
                    given, _, family = local.replace("_", ".").partition(".")
                    employee = await employees.create_employee(
                        session,
                        actor,
                        data=employees.EmployeeCreate(
                            email=email,
                            given_name=(given or local).title(),
                            family_name=(family or "-").title(),
                            job_level=1,
                        ),
                    )
                if role == "admin" and not employee.is_admin:
                    await employees.update_employee(
                        session,
                        actor,
                        employee.id,
                        data=employees.EmployeeUpdate(is_admin=True),
                        expected_version=None,
                    )
                employee_id = employee.id
            data = tokens.TokenCreate(
                name=name,
                employee_id=employee_id,
                service=service,
                scopes=[Scope(s) for s in scopes],
                expires_in_days=days,
            )
            _token, value = await tokens.create_token(
                session, actor, data=data, default_ttl_days=settings.token_default_ttl_days
            )
            await session.commit()
            return value
    finally:
        await db.dispose()


@token_cli.command("create")
def token_create(
    email: Annotated[str | None, typer.Option(help="A person's work e-mail.")] = None,
    role: Annotated[str, typer.Option(help="admin or participant (for --email).")] = "participant",
    service: Annotated[str | None, typer.Option(help="A machine client's name.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Scope of a service token (repeat).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Days until it expires.")] = None,
) -> None:
    """Issue a token; it is printed once, alone on the last line."""
    from app.domain.actors import Scope

    if (email is None) == (service is None):
        typer.echo("error: give exactly one of --email or --service", err=True)
        raise typer.Exit(2)
    if role not in ("admin", "participant"):
        typer.echo("error: --role is admin or participant", err=True)
        raise typer.Exit(2)
    valid = {s.value for s in Scope}
    bad = [s for s in scope or [] if s not in valid]
    if bad:
        typer.echo(
            f"error: unknown scope {', '.join(bad)}; known: {', '.join(sorted(valid))}", err=True
        )
        raise typer.Exit(2)
    settings = _settings()
    asyncio.run(_migrate(settings))
    try:
        value = asyncio.run(
            _create_token(
                settings,
                name=name or (f"{service} client" if service else f"{email} ({role})"),
                email=email,
                role=role,
                service=service,
                scopes=scope or [],
                days=days,
            )
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from exc
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo("token created; it will not be shown again:", err=True)
    typer.echo(value)


async def _revoke(settings: Settings, ident: str) -> str:
    import uuid

    from app.db.engine import Database
    from app.domain import tokens
    from app.domain.actors import Actor

    db = Database(settings)
    try:
        async with db.session() as session:
            try:
                token = await tokens.revoke_token(session, Actor.system(), uuid.UUID(ident))
            except ValueError:
                token = await tokens.revoke_by_prefix(session, Actor.system(), prefix=ident)
            await session.commit()
            return str(token.id)
    finally:
        await db.dispose()


@token_cli.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="Token id, or the token's first 12 characters.")],
) -> None:
    """Revoke a token at once."""
    settings = _settings()
    try:
        revoked = asyncio.run(_revoke(settings, token))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked {revoked}")


@cli.command()
def demo(
    force: Annotated[bool, typer.Option(help="Load even if the database has employees.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same organisation).")] = 7,
) -> None:
    """Load a realistic demo organisation (only into an empty database unless --force)."""
    from app.demo import load_demo

    settings = _settings()
    asyncio.run(_migrate(settings))
    summary = asyncio.run(load_demo(settings, seed=seed, force=force))
    typer.echo(summary)


#: Exit codes of ``revmentor import employees`` (2 stays click's usage error and the settings
#: refusal, so a script can tell a held snapshot from a mistyped option).
EXIT_IMPORT_FAILED = 1
EXIT_SNAPSHOT_HELD = 3
#: Batches an import keeps in flight on PostgreSQL: enough to keep the database busy while the
#: importer reads and checks the next rows.
DEFAULT_PARALLEL_BATCHES = 4

# Rich keeps the help's line breaks, so each paragraph is one line and the terminal wraps it.
IMPORT_EMPLOYEES_EPILOG = "\n\n".join(
    [
        "[b]Columns.[/b] A column named like a record field is read into it (external_id, "
        "modified_at, email, given_name, family_name, display_name, job_title, job_level, "
        "department, division, organization, cost_center, employee_number, location, time_zone, "
        "manager_external_id, hire_date, termination_date, active). Headers are compared "
        "ignoring case, spaces, underscores and hyphens (Employee ID = employee_id = "
        "employeeId), and these spellings are taken too:",
        describe_columns(),
        f"Required: {', '.join(REQUIRED_COLUMNS)}; a file without them is refused before "
        "anything is written. Other columns are ignored (and listed). --map FIELD=COLUMN "
        "overrides all of this.",
        "[b]Cells.[/b] Blank means not set. active: true/false/yes/no/1/0; job_level: a whole "
        "number; dates: YYYY-MM-DD; modified_at: ISO 8601, UTC when it has no offset. A value "
        "that does not fit rejects its row into the errors file (line, external_id, field, "
        "reason, then the row as it was); the other rows are kept. Without a modified_at "
        "column every row gets the file's modification time: re-importing the same file "
        "changes nothing, and rows from a file older than what is stored are stale.",
        "[b]Batches.[/b] Rows are pushed at most 1,000 at a time, each batch in its own "
        "transaction (a delta run per batch; with --snapshot one snapshot run, a page per "
        "batch), so a file of any size runs in constant memory. On PostgreSQL a few batches "
        "are in flight at once (--parallel); a batch naming someone a batch in flight names "
        "waits for it, and outcomes and rejected rows are reported in the file's order. "
        "--dry-run does all of it in one transaction, one batch at a time, and rolls it back, "
        "so the outcomes it reports are the real ones.",
        "[b]Exit codes.[/b] 0 done (rejected rows are reported, not fatal); 1 the file cannot "
        "be read, its columns cannot be mapped, the database cannot be used, or the import "
        "stopped (the message says how far it got); 2 usage or configuration error; 3 the "
        "snapshot is held by the circuit breaker (REVMENTOR_HRIS_MAX_DEACTIVATION_SHARE) until "
        "an admin approves or rejects it "
        "(a dry run only reports that it would be).",
    ]
)


def _delimiter(value: str) -> str:
    """``--delimiter``: one character (``tab`` or ``\\t`` for a tab), not one CSV reserves."""
    if value.lower() in ("tab", "\\t"):
        return "\t"
    if len(value) != 1 or value in ('"', "\r", "\n"):
        raise typer.BadParameter("one character, such as ',', ';', '|' or 'tab'")
    return value


@import_cli.command("employees", epilog=IMPORT_EMPLOYEES_EPILOG)
def import_employees(
    file: Annotated[
        Path, typer.Argument(help="The CSV export: UTF-8 (with or without BOM), header first.")
    ],
    source: Annotated[
        str, typer.Option(help="The HRIS the rows come from (a snapshot covers only its people).")
    ] = "csv",
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="FIELD=COLUMN", help="Read FIELD from COLUMN (repeat)."),
    ] = None,
    modified_at_column: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="The column with each row's last-modified time.",
            show_default="a modified_at column, else the file's modification time",
        ),
    ] = None,
    delimiter: Annotated[
        str,
        typer.Option(
            metavar="CHAR",
            help="The character between cells: ',', ';', '|' or 'tab' (any single character).",
            callback=_delimiter,
        ),
    ] = ",",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Push for real in one transaction, report the outcomes, then roll it all back.",
        ),
    ] = False,
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help="A full sync: deactivate the source's people missing from the file (held for "
            "an admin when they are too many).",
        ),
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Where rejected rows go (rewritten on every run).",
            show_default="NAME.errors.csv beside the input NAME.csv",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Rows per push and transaction.")
    ] = DEFAULT_BATCH,
    parallel: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=16,
            help="Batches in flight at once (PostgreSQL only).",
            show_default=f"{DEFAULT_PARALLEL_BATCHES} on PostgreSQL, 1 on SQLite",
        ),
    ] = None,
) -> None:
    """Import employee records from an HRIS's CSV export, as the bulk HRIS API would."""
    from rich.console import Console

    from app.importing.employees import ImportOptions, check_source
    from app.importing.employees import import_employees as run_import
    from app.importing.export import ImportProblem, open_errors, open_export

    settings = _settings()
    if parallel is not None and parallel > 1 and settings.is_sqlite:
        typer.echo(
            "error: --parallel above 1 needs PostgreSQL; SQLite writes one batch at a time",
            err=True,
        )
        raise typer.Exit(2)
    if parallel is None:
        parallel = 1 if settings.is_sqlite else DEFAULT_PARALLEL_BATCHES
    options = ImportOptions(
        source=source,
        dry_run=dry_run,
        snapshot=snapshot,
        batch_size=batch_size,
        parallel=parallel,
    )
    try:
        check_source(source)
        # Everything that can be refused is refused before the database is touched.
        with (
            open_export(
                file,
                mappings=mapping or (),
                modified_at_column=modified_at_column,
                delimiter=delimiter,
            ) as export,
            open_errors(export, errors) as errors_file,
        ):
            # A long run over a large file, with all it needs loaded. What start-up left for
            # the collector is freed as the command exits: collecting it first would walk every
            # object loaded.
            settle_startup_heap(collect=False)
            with _progress_bar(Console(stderr=True), export.size) as progress:
                # The schema is checked (or migrated) on the import's own connections.
                report = run_import(
                    settings, export, errors_file, options, progress, prepare=_migrate_on
                )
    except ImportProblem as exc:
        if exc.report is not None and exc.report.rows:
            _print_import_report(exc.report)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_IMPORT_FAILED) from exc
    _print_import_report(report)
    if report.snapshot is not None and report.snapshot.held and not report.dry_run:
        run_id = report.snapshot.run_id
        typer.echo(
            f"HELD: snapshot run {run_id} was not committed: {report.snapshot.hold_reason}.\n"
            "Nobody has been deactivated. An admin decides it:\n"
            f"  approve: POST /api/v1/hris/runs/{run_id}/approve\n"
            f"  reject:  POST /api/v1/hris/runs/{run_id}/reject",
            err=True,
        )
        raise typer.Exit(EXIT_SNAPSHOT_HELD)


@contextmanager
def _progress_bar(console: Console, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over the file's bytes, counting rows; yields what advances it.

    It is redrawn as each batch is taken, not by rich's refresh thread: a second thread
    running Python beside the import can be where the cycle collector happens to run, and
    finalise the import's database connections there, away from their event loop.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
    ) as bar:
        task = bar.add_task("import", total=max(total, 1), rows=0)

        def advance(rows: int, position: int) -> None:
            bar.update(task, completed=position, rows=rows, refresh=True)

        yield advance
        bar.update(task, completed=max(total, 1))


def _print_import_report(report: ImportReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from app.importing.employees import OUTCOMES

    what = "Dry run of the import" if report.dry_run else "Import"
    typer.echo(f"{what} of {report.path} (source {report.source})")
    table = Table()
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome in OUTCOMES:
        table.add_row(outcome, str(report.counts.get(outcome, 0)))
    table.add_row("total", str(report.rows), end_section=True)
    snapshot = report.snapshot
    if snapshot is not None:
        if snapshot.held:
            table.add_row("held: to deactivate", str(snapshot.to_deactivate))
        else:
            table.add_row("deactivated", str(snapshot.deactivated))
        table.add_row("active before", str(snapshot.active_before))
    Console().print(table)
    lines = [f"batches: {report.batches}"]
    if snapshot is not None and report.dry_run:
        lines.append(f"snapshot: would be {snapshot.status}")
    elif snapshot is not None:
        lines.append(f"snapshot run: {snapshot.run_id} ({snapshot.status})")
    lines.append(f"modified_at from: {report.modified_at_from}")
    if report.ignored_columns:
        lines.append("ignored columns: " + ", ".join(report.ignored_columns))
    invalid = report.counts.get("invalid", 0)
    lines.append(f"rejected rows: {invalid}, listed in {report.errors_path}")
    if report.dry_run:
        lines.append("dry run: nothing was written to the database (all of it was rolled back)")
    typer.echo("\n".join(lines))


def openapi_document() -> str:
    """The OpenAPI document as committed (sorted keys, trailing newline)."""
    from app.main import create_app

    app = create_app(Settings(docs_enabled=True, env="development"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def _write_or_check(document: str, output: Path, *, check: bool, command: str) -> None:
    if str(output) == "-":
        sys.stdout.write(document)
        return
    if check:
        if not output.exists():
            typer.echo(
                f"{output} is missing; run `revmentor {command}` in the project root", err=True
            )
            raise typer.Exit(1)
        if output.read_text() != document:
            typer.echo(f"{output} is stale; run `revmentor {command}`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document)
    typer.echo(f"wrote {output}")


CheckOption = Annotated[bool, typer.Option(help="Fail if the file differs instead of writing.")]


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write it; '-' for stdout.")] = OPENAPI_PATH,
    check: CheckOption = False,
) -> None:
    """Write (or check) the OpenAPI document."""
    _write_or_check(openapi_document(), output, check=check, command="openapi")


@cli.command("graphql-schema")
def graphql_schema(
    output: Annotated[
        Path, typer.Option(help="Where to write it; '-' for stdout.")
    ] = GRAPHQL_SDL_PATH,
    check: CheckOption = False,
) -> None:
    """Write (or check) the GraphQL schema (SDL)."""
    from app.api.graphql.schema import sdl

    _write_or_check(sdl(), output, check=check, command="graphql-schema")


def main() -> None:
    cli()
