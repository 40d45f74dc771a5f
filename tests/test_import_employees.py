"""``revmentor import employees``: an HRIS's CSV export, imported as an operator would.

Each test gets a fresh database (not even migrated) named in ``REVMENTOR_DATABASE_URL``, and
writes its CSV files itself. The tests are synchronous: the command calls ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from typer.testing import CliRunner, Result

from app.cli import EXIT_IMPORT_FAILED, EXIT_SNAPSHOT_HELD, cli
from app.config import Settings, get_settings
from app.db.engine import Database
from app.db.models import Employee, HrisRun
from tests.conftest import TEST_DATABASE, _create_postgres_database, _drop_postgres_database

T = TypeVar("T")

HEADER = ["external_id", "email", "given_name", "family_name", "job_level"]


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An empty database for the CLI; only what a test sets reaches its settings."""
    for name in list(os.environ):
        if name.startswith("REVMENTOR_") and not name.startswith("REVMENTOR_TEST_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    name = f"revmentor_import_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if TEST_DATABASE == "postgresql":
        url = asyncio.run(_create_postgres_database(name))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("REVMENTOR_DATABASE_URL", url)
    yield url
    get_settings.cache_clear()
    if TEST_DATABASE == "postgresql":
        asyncio.run(_drop_postgres_database(name))


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def import_file(path: Path, *args: str | Path) -> Result:
    return run("import", "employees", path, *args)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def people(*numbers: int) -> list[list[object]]:
    """Valid rows for ``HEADER``: person ``n`` is ``E<n>``."""
    return [[f"E{n}", f"person{n}@example.com", "Person", f"No{n}", 3] for n in numbers]


def outcomes(result: Result) -> dict[str, int]:
    """The summary table's rows, as printed."""
    return {
        name: int(count)
        for name, count in re.findall(r"│ ([a-z :]+?)\s+│\s+(\d+) │", result.stdout)
    }


def in_database(url: str, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(Settings(env="test", database_url=url))
        try:
            async with db.session() as session:
                return await query(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def employees(url: str) -> dict[str, Employee]:
    async def query(session: AsyncSession) -> dict[str, Employee]:
        rows = (await session.execute(select(Employee))).scalars().all()
        return {e.external_id or e.email: e for e in rows}

    return in_database(url, query)


def runs(url: str) -> list[HrisRun]:
    async def query(session: AsyncSession) -> list[HrisRun]:
        return list((await session.execute(select(HrisRun).order_by(col(HrisRun.id)))).scalars())

    return in_database(url, query)


def schema_exists(url: str) -> bool:
    async def go() -> bool:
        db = Database(Settings(env="test", database_url=url))
        try:
            async with db.engine.connect() as conn:
                return await conn.run_sync(lambda c: inspect(c).has_table("employees"))
        finally:
            await db.dispose()

    return asyncio.run(go())


def error_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def set_mtime(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_an_import_stores_the_rows_converted_and_prints_a_summary(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "people.csv",
        [*HEADER, "active", "hire_date", "manager_external_id", "time_zone", "job_title"],
        [
            ["E1", "ann.lee@example.com", "Ann", "Lee", "9", "TRUE", "2015-03-01", "", "", "CTO"],
            ["E2", "bo.kim@example.com", "Bo", "Kim", "2.0", "yes", "", "E1", "Europe/Berlin", ""],
            ["E3", "cy.ng@example.com", "Cy", "Ng", "4", "no", "", "E1", "", ""],
        ],
    )

    result = import_file(file)

    assert result.exit_code == 0, result.output
    assert f"Import of {file} (source csv)" in result.stdout
    assert outcomes(result) == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "invalid": 0,
        "total": 3,
    }
    assert f"rejected rows: 0, listed in {tmp_path / 'people.errors.csv'}" in result.stdout
    assert "3 rows" in result.stderr  # the progress bar
    stored = employees(database_url)
    ann, bo, cy = stored["E1"], stored["E2"], stored["E3"]
    assert (ann.display_name, ann.job_level, ann.job_title) == ("Ann Lee", 9, "CTO")
    assert ann.hire_date == date(2015, 3, 1)
    assert (bo.job_level, bo.time_zone, bo.manager_id) == (2, "Europe/Berlin", ann.id)
    assert (ann.active, bo.active, cy.active) == (True, True, False)
    assert {e.source for e in stored.values()} == {"csv"}
    assert error_rows(tmp_path / "people.errors.csv") == []


def test_the_file_time_stands_for_modified_at_so_a_reimport_is_unchanged(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(tmp_path / "people.csv", HEADER, people(1, 2, 3))
    set_mtime(file, datetime(2025, 5, 1, 12, tzinfo=UTC))
    first = import_file(file)
    versions = {k: e.version for k, e in employees(database_url).items()}

    again = import_file(file)

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert "modified_at from: the file's modification time (2025-05-01T12:00:00" in again.stdout
    assert outcomes(again)["unchanged"] == 3
    assert outcomes(again)["total"] == 3
    assert {k: e.version for k, e in employees(database_url).items()} == versions

    # An edited export is newer and updates; an older one than what is stored is stale.
    write_csv(file, HEADER, [["E1", "person1@example.com", "Person", "Renamed", 3]])
    set_mtime(file, datetime(2025, 6, 1, tzinfo=UTC))
    newer = import_file(file)
    set_mtime(file, datetime(2025, 1, 1, tzinfo=UTC))
    older = import_file(file)

    assert outcomes(newer)["updated"] == 1
    assert outcomes(older)["stale"] == 1
    assert employees(database_url)["E1"].family_name == "Renamed"


def versions(url: str) -> dict[str, int]:
    return {key: e.version for key, e in employees(url).items()}


TIMED = [*HEADER, "job_title", "modified_at"]


def timed_people(*numbers: int, at: str = "2026-03-01T09:00:00Z") -> list[list[object]]:
    return [[*row, "Engineer", at] for row in people(*numbers)]


def test_a_reimport_knows_unchanged_rows_by_their_cells_in_any_column_order(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(tmp_path / "people.csv", TIMED, timed_people(1, 2, 3, 4))
    assert import_file(file).exit_code == 0
    before = versions(database_url)
    # The same rows, the columns in another order and one the import does not read added.
    order = [6, 5, 3, 0, 2, 1, 4]
    moved = write_csv(
        tmp_path / "moved.csv",
        ["notes", *(TIMED[i] for i in order)],
        [[f"note {row[0]}", *(row[i] for i in order)] for row in timed_people(1, 2, 3, 4)],
    )

    again = import_file(moved)

    assert again.exit_code == 0, again.output
    assert outcomes(again)["unchanged"] == 4
    assert versions(database_url) == before

    # One cell changed at the same time is written; a row that only moved on in time is not,
    # but its newer time is kept (an older row of it is stale from then on).
    rows = timed_people(1, 2, 3, 4)
    rows[0][5] = "Staff Engineer"
    rows[1][6] = "2026-04-01T09:00:00Z"
    edited = import_file(write_csv(tmp_path / "edited.csv", TIMED, rows))

    assert (outcomes(edited)["updated"], outcomes(edited)["unchanged"]) == (1, 3)
    stored = employees(database_url)
    assert (stored["E1"].job_title, stored["E1"].version) == ("Staff Engineer", 2)
    assert stored["E2"].version == before["E2"]
    assert stored["E2"].source_modified_at == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert outcomes(import_file(file))["stale"] == 1


def test_which_column_a_field_is_read_from_is_part_of_a_rows_fingerprint(
    database_url: str, tmp_path: Path
) -> None:
    header = [*TIMED, "Position"]
    file = write_csv(
        tmp_path / "people.csv", header, [[*row, "Architect"] for row in timed_people(1, 2)]
    )
    assert import_file(file).exit_code == 0
    assert outcomes(import_file(file))["unchanged"] == 2

    remapped = import_file(file, "--map", "job_title=Position")

    assert outcomes(remapped)["updated"] == 2
    assert {e.job_title for e in employees(database_url).values()} == {"Architect"}
    assert outcomes(import_file(file, "--map", "job_title=Position"))["unchanged"] == 2


def test_a_row_missing_its_trailing_empty_cells_is_the_same_row(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(
        "external_id,modified_at,email,given_name,family_name,job_level,job_title,location\n"
        "E1,2026-03-01T09:00:00Z,p1@example.com,Ann,Lee,3,,\n"
        "E2,2026-03-01T09:00:00Z,p2@example.com,Bo,Kim,4,CTO,\n",
        encoding="utf-8",
    )
    assert import_file(file).exit_code == 0
    # Some exports leave out the separators of empty cells at the end of a line.
    file.write_text(
        "external_id,modified_at,email,given_name,family_name,job_level,job_title,location\n"
        "E1,2026-03-01T09:00:00Z,p1@example.com,Ann,Lee,3\n"
        "E2,2026-03-01T09:00:00Z,p2@example.com,Bo,Kim,4,CTO\n",
        encoding="utf-8",
    )

    result = import_file(file)

    assert outcomes(result)["unchanged"] == 2
    assert set(versions(database_url).values()) == {1}


def test_people_last_pushed_through_the_api_are_unchanged_by_a_file_saying_the_same(
    database_url: str, tmp_path: Path
) -> None:
    from app.domain import hris
    from app.domain.actors import Actor

    file = write_csv(tmp_path / "people.csv", TIMED, timed_people(1, 2))
    assert import_file(file, "--dry-run").exit_code == 0  # migrates the empty database
    records = [dict(zip(TIMED, row, strict=True)) for row in timed_people(1, 2)]
    records[1]["job_title"] = "Intern"

    async def push(session: AsyncSession) -> None:
        await hris.push_delta(session, Actor.system(), source="csv", records=records)
        await session.commit()

    in_database(database_url, push)

    result = import_file(file)

    # E1's record is the file's row: its stored fingerprint, the record's own, is honoured.
    assert (outcomes(result)["unchanged"], outcomes(result)["updated"]) == (1, 1)
    stored = employees(database_url)
    assert (stored["E1"].version, stored["E2"].version) == (1, 2)
    assert stored["E2"].job_title == "Engineer"
    assert outcomes(import_file(file))["unchanged"] == 2


def test_common_header_spellings_are_recognised(database_url: str, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "workday.csv",
        [
            "Employee ID",
            "Work Email",
            "First Name",
            "LAST_NAME",
            "jobLevel",
            "Last Modified",
            "Pet",
        ],
        [["W1", "w1@example.com", "Wen", "Ma", "5", "2025-02-03T04:05:06+01:00", "cat"]],
    )

    result = import_file(file, "--source", "workday")

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 1
    assert "modified_at from: column 'Last Modified'" in result.stdout
    assert "ignored columns: Pet" in result.stdout
    stored = employees(database_url)["W1"]
    assert (stored.email, stored.family_name, stored.job_level) == ("w1@example.com", "Ma", 5)
    assert stored.source == "workday"
    assert stored.source_modified_at == datetime(2025, 2, 3, 3, 5, 6, tzinfo=UTC)


def test_custom_headers_are_read_through_the_mapping(database_url: str, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "export.csv",
        ["Worker", "Mail", "Vorname", "Nachname", "Stufe", "Geändert", "Chef"],
        [
            ["1001", "boss@example.com", "Hana", "Berg", "8", "2025-03-01 09:00:00", ""],
            ["1002", "dev@example.com", "Ivo", "Kern", "2", "2025-03-01", "1001"],
        ],
    )

    result = import_file(
        file,
        "--map",
        "external_id=Worker",
        "--map",
        "email=mail",  # matched ignoring case when there is no exact match
        "--map",
        "given_name=Vorname",
        "--map",
        "family_name=Nachname",
        "--map",
        "job_level=Stufe",
        "--map",
        "manager_external_id=Chef",
        "--modified-at-column",
        "Geändert",
    )

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 2
    stored = employees(database_url)
    boss, dev = stored["1001"], stored["1002"]
    assert (dev.given_name, dev.job_level, dev.manager_id) == ("Ivo", 2, boss.id)
    # Times without an offset are UTC.
    assert boss.source_modified_at == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert dev.source_modified_at == datetime(2025, 3, 1, tzinfo=UTC)


def test_invalid_rows_go_to_the_errors_file_and_the_valid_ones_are_stored(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(
        "external_id,email,given_name,family_name,job_level,active,hire_date\n"
        "E1,ok1@example.com,Ann,Lee,3,,\n"
        "E2,bad-email,Bo,Kim,3,,\n"
        'E3,ok3@example.com,"Cy\nwith a line break",Ng,senior,,\n'
        "E4,ok4@example.com,Di,Ox,3,maybe,\n"
        "\n"
        "E5,ok5@example.com,Ed,Po,3,,02/03/2020\n"
        ",ok6@example.com,Fay,Wu,3,,\n"
        "E7,ok7@example.com,Gus,Ra,3,,,unexpected\n"
        "E8,ok8@example.com,Hal,Su,3,true,2020-02-03\n",
        encoding="utf-8",
    )
    errors = tmp_path / "reports" / "rejected.csv"
    errors.parent.mkdir()

    result = import_file(file, "--errors", errors)

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 2
    assert outcomes(result)["invalid"] == 6
    assert f"rejected rows: 6, listed in {errors}" in result.stdout
    assert set(employees(database_url)) == {"E1", "E8"}
    rejected = error_rows(errors)
    assert [(r["line"], r["external_id"], r["field"]) for r in rejected] == [
        ("3", "E2", "email"),
        ("4", "E3", "job_level"),  # the row starts on line 4 and spans two
        ("6", "E4", "active"),
        ("8", "E5", "hire_date"),
        ("9", "", "external_id"),
        ("10", "E7", ""),
    ]
    reasons = [r["reason"] for r in rejected]
    assert "email" in reasons[0]
    assert "must be an integer" in reasons[1]
    assert "must be true or false" in reasons[2]
    assert "YYYY-MM-DD" in reasons[3]
    assert "required" in reasons[4].lower()
    assert "8 cells but the header has 7" in reasons[5]
    # The row as it was, to fix and import again.
    assert rejected[1]["given_name"] == "Cy\nwith a line break"
    assert rejected[1]["job_level"] == "senior"
    assert not (tmp_path / "people.errors.csv").exists()


def test_a_modified_time_out_of_range_rejects_its_row_not_the_import(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "people.csv",
        ["external_id", "modified_at", "email", "given_name", "family_name", "job_level"],
        [
            ["E1", "9999-12-31T23:59:59-01:00", "ok1@example.com", "Ann", "Lee", 3],
            ["E2", "2025-03-01T09:00:00+00:00", "ok2@example.com", "Bo", "Kim", 3],
        ],
    )

    result = import_file(file)

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 1
    assert set(employees(database_url)) == {"E2"}
    [rejected] = error_rows(tmp_path / "people.errors.csv")
    assert (rejected["line"], rejected["field"]) == ("2", "modified_at")
    assert "between the years 1 and 9999" in rejected["reason"]


@pytest.mark.parametrize(
    ("active", "expected"),
    [("Active", True), ("Y", True), ("Inactive", False), ("TERMINATED", False), ("n", False)],
)
def test_an_active_column_may_hold_a_status_word(
    database_url: str, tmp_path: Path, active: str, expected: bool
) -> None:
    file = write_csv(tmp_path / "people.csv", [*HEADER, "active"], [[*people(1)[0], active]])
    result = import_file(file)
    assert result.exit_code == 0, result.output
    assert employees(database_url)["E1"].active is expected


@pytest.mark.parametrize(("delimiter", "option"), [(";", ";"), ("\t", "tab"), ("|", "|")])
def test_a_file_separated_by_another_character_is_read_with_delimiter(
    database_url: str, tmp_path: Path, delimiter: str, option: str
) -> None:
    """Spreadsheets in many locales write ';' between cells; the rows refused go to the errors
    file with the same separator, to be fixed and imported again as they are."""
    file = tmp_path / "people.csv"
    rows = [HEADER, *people(1, 2), ["E3", "not-an-email", "Cy", "Ng", "3"]]
    file.write_text("".join(delimiter.join(map(str, r)) + "\n" for r in rows), encoding="utf-8")

    plain = import_file(file)
    assert plain.exit_code == EXIT_IMPORT_FAILED
    hint = "tab" if option == "tab" else repr(option)
    assert f"The header looks separated by {hint}: add --delimiter {hint}" in plain.stderr
    assert not schema_exists(database_url)  # refused before the database is touched

    result = import_file(file, "--delimiter", option)
    assert result.exit_code == 0, result.output
    assert set(employees(database_url)) == {"E1", "E2"}
    errors = (tmp_path / "people.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors[1].startswith(delimiter.join(["4", "E3", "email"]))


@pytest.mark.parametrize("option", ["", "ab", '"'])
def test_a_delimiter_must_be_one_character(database_url: str, tmp_path: Path, option: str) -> None:
    file = write_csv(tmp_path / "people.csv", HEADER, people(1))
    result = import_file(file, "--delimiter", option)
    assert result.exit_code == 2
    assert "one character" in result.stderr


def test_blank_rows_are_skipped_but_a_row_with_only_unmapped_cells_is_rejected(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_text(
        "external_id,email,given_name,family_name,job_level,notes\n"
        "E1,ok1@example.com,Ann,Lee,3,\n"
        " , ,\t, ,  ,\n"  # whitespace only: a blank row, not a person
        ",,,,,on leave\n"  # something was written: refused, not silently dropped
        "E2,ok2@example.com,Bo,Kim,4,\n",
        encoding="utf-8",
    )

    result = import_file(file)

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 2
    assert outcomes(result)["invalid"] == 1
    assert set(employees(database_url)) == {"E1", "E2"}
    rejected = error_rows(tmp_path / "people.errors.csv")
    assert [(r["line"], r["notes"]) for r in rejected] == [("4", "on leave")]
    assert "required" in rejected[0]["reason"].lower()


def test_a_dry_run_reports_the_real_outcomes_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(tmp_path / "people.csv", HEADER, people(1, 2))
    set_mtime(file, datetime(2025, 5, 1, tzinfo=UTC))
    assert import_file(file).exit_code == 0
    before = {k: (e.family_name, e.version) for k, e in employees(database_url).items()}
    runs_before = len(runs(database_url))
    write_csv(
        file,
        HEADER,
        [
            ["E1", "person1@example.com", "Person", "Changed", 3],
            *people(2, 3),
            ["E4", "not-an-email", "Bad", "Row", 3],
        ],
    )
    set_mtime(file, datetime(2025, 6, 1, tzinfo=UTC))

    result = import_file(file, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Dry run of the import" in result.stdout
    assert "nothing was written to the database" in result.stdout
    assert outcomes(result) == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "stale": 0,
        "invalid": 1,
        "total": 4,
    }
    assert {k: (e.family_name, e.version) for k, e in employees(database_url).items()} == before
    assert len(runs(database_url)) == runs_before
    assert [r["external_id"] for r in error_rows(tmp_path / "people.errors.csv")] == ["E4"]


def test_a_snapshot_deactivates_the_sources_people_missing_from_the_file(
    database_url: str, tmp_path: Path
) -> None:
    everyone = write_csv(tmp_path / "everyone.csv", HEADER, people(*range(1, 11)))
    other = write_csv(tmp_path / "other.csv", HEADER, people(99))
    assert import_file(everyone).exit_code == 0
    assert import_file(other, "--source", "workday").exit_code == 0
    # E10 left; E9's row has a bad e-mail but they still work here, so they stay active.
    snapshot = write_csv(
        tmp_path / "snapshot.csv",
        HEADER,
        [*people(*range(1, 9)), ["E9", "broken", "Person", "No9", 3]],
    )

    result = import_file(snapshot, "--snapshot", "--batch-size", "4")

    assert result.exit_code == 0, result.output
    assert outcomes(result)["unchanged"] == 8
    assert outcomes(result)["invalid"] == 1
    assert outcomes(result)["deactivated"] == 1
    stored = employees(database_url)
    assert [k for k, e in stored.items() if not e.active] == ["E10"]
    assert stored["E99"].active  # another source's people are not this snapshot's business
    snapshot_run = runs(database_url)[-1]
    assert (snapshot_run.kind, snapshot_run.status) == ("snapshot", "committed")
    assert (snapshot_run.pages, snapshot_run.records, snapshot_run.deactivated) == (3, 9, 1)
    assert f"snapshot run: {snapshot_run.id} (committed)" in result.stdout


def test_a_snapshot_held_by_the_circuit_breaker_deactivates_nobody(
    database_url: str, tmp_path: Path
) -> None:
    everyone = write_csv(tmp_path / "everyone.csv", HEADER, people(*range(1, 11)))
    half = write_csv(tmp_path / "half.csv", HEADER, people(*range(1, 6)))
    assert import_file(everyone).exit_code == 0

    dry = import_file(half, "--snapshot", "--dry-run")
    result = import_file(half, "--snapshot")
    again = import_file(half, "--snapshot")

    assert dry.exit_code == 0, dry.output
    assert "snapshot: would be held" in dry.stdout
    assert result.exit_code == EXIT_SNAPSHOT_HELD, result.output
    held = runs(database_url)[-1]
    assert (held.kind, held.status, held.to_deactivate) == ("snapshot", "held", 5)
    assert outcomes(result)["held: to deactivate"] == 5
    assert f"snapshot run {held.id} was not committed" in result.stderr
    assert "Nobody has been deactivated" in result.stderr
    assert f"POST /api/v1/hris/runs/{held.id}/approve" in result.stderr
    assert f"POST /api/v1/hris/runs/{held.id}/reject" in result.stderr
    assert all(e.active for e in employees(database_url).values())
    # While the run waits for an admin, no other snapshot of the source may start.
    assert again.exit_code == EXIT_IMPORT_FAILED
    assert "already open or held" in again.stderr


def test_a_snapshot_whose_rows_say_too_many_left_is_held_too(
    database_url: str, tmp_path: Path
) -> None:
    """A termination column mapped by mistake is caught like a truncated file."""
    everyone = write_csv(tmp_path / "everyone.csv", HEADER, people(*range(1, 11)))
    assert import_file(everyone).exit_code == 0
    rows = [
        [*row, "2020-01-31" if n <= 3 else ""] for n, row in enumerate(people(*range(1, 11)), 1)
    ]
    leaving = write_csv(tmp_path / "leaving.csv", [*HEADER, "termination_date"], rows)
    set_mtime(leaving, datetime.now(UTC))

    result = import_file(leaving, "--snapshot")

    assert result.exit_code == EXIT_SNAPSHOT_HELD, result.output
    held = runs(database_url)[-1]
    assert (held.status, held.to_deactivate, held.deactivated) == ("held", 3, 0)
    assert all(e.active for e in employees(database_url).values())


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["id", "mail", "given_name", "family_name", "job_level"], ["external_id", "email"]),
        (["external_id", "email", "given_name", "family_name"], ["job_level"]),
    ],
)
def test_a_file_without_the_required_columns_is_refused_before_anything_is_written(
    database_url: str, tmp_path: Path, header: list[str], missing: list[str]
) -> None:
    file = write_csv(tmp_path / "people.csv", header, [["1", "a@example.com", "A", "B", 3]])

    result = import_file(file)

    assert result.exit_code == EXIT_IMPORT_FAILED
    assert result.stdout == ""
    for name in missing:
        assert f"no column for {name}" in result.stderr or f", {name} (" in result.stderr
    assert "--map FIELD=COLUMN" in result.stderr
    assert not (tmp_path / "people.errors.csv").exists()
    assert not schema_exists(database_url)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "external_id"], "write it as field=Column"),
        (["--map", "salary=external_id"], "salary is not a record field"),
        (["--map", "email=Work Mail"], "the file has no column 'Work Mail'"),
        (["--source", "no spaces please"], "--source 'no spaces please'"),
    ],
)
def test_a_wrong_mapping_is_refused_with_a_clear_message(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    file = write_csv(tmp_path / "people.csv", HEADER, people(1))

    result = import_file(file, *args)

    assert result.exit_code == EXIT_IMPORT_FAILED
    assert message in result.stderr
    assert not schema_exists(database_url)


def test_a_missing_or_non_utf8_file_is_refused(database_url: str, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\nE1,a@example.com,Ren\xe9,B,3\n")

    missing = import_file(tmp_path / "missing.csv")
    undecodable = import_file(latin)

    assert missing.exit_code == EXIT_IMPORT_FAILED
    assert "cannot read" in missing.stderr
    assert undecodable.exit_code == EXIT_IMPORT_FAILED
    assert "line 2: not UTF-8 text" in undecodable.stderr


def test_a_file_that_breaks_half_way_aborts_the_snapshot_and_deactivates_nobody(
    database_url: str, tmp_path: Path
) -> None:
    everyone = write_csv(tmp_path / "everyone.csv", HEADER, people(*range(400)))
    assert import_file(everyone).exit_code == 0
    # Far enough into the file that earlier batches are pushed before reading fails.
    broken = write_csv(tmp_path / "broken.csv", HEADER, people(*range(300)))
    broken.write_bytes(broken.read_bytes() + b"E300,x@example.com,Ren\xe9,B,3\n")

    result = import_file(broken, "--snapshot", "--batch-size", "50")

    assert result.exit_code == EXIT_IMPORT_FAILED
    assert "line 302: not UTF-8 text" in result.stderr
    assert re.search(r"the (\d+)0 rows up to line \d+1 were pushed", result.stderr)
    assert "was aborted: nobody was deactivated" in result.stderr
    aborted = runs(database_url)[-1]
    assert (aborted.kind, aborted.status, aborted.deactivated) == ("snapshot", "aborted", 0)
    assert aborted.pages >= 1
    assert all(e.active for e in employees(database_url).values())
    # The source can be synced again.
    retry = import_file(everyone, "--snapshot")
    assert retry.exit_code == 0, retry.output


def test_a_database_that_fails_half_way_is_reported_with_how_far_the_import_got(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from app.domain import hris

    real_push = hris.push_delta
    pushes = 0

    async def push_then_lose_the_server(*args: Any, **kwargs: Any) -> Any:
        nonlocal pushes
        pushes += 1
        if pushes == 2:
            lost = ConnectionResetError("server closed the connection unexpectedly")
            raise OperationalError("INSERT INTO employees ...", {}, lost)
        return await real_push(*args, **kwargs)

    monkeypatch.setattr(hris, "push_delta", push_then_lose_the_server)
    file = write_csv(tmp_path / "people.csv", HEADER, people(*range(1500)))

    result = import_file(file, "--parallel", "1", "--batch-size", "1000")

    assert result.exit_code == EXIT_IMPORT_FAILED
    assert (
        "error: the database failed: server closed the connection unexpectedly; the 1000 rows "
        "up to line 1001 were pushed (1 batch) and stay applied" in result.stderr
    )
    # No traceback of the failure: the message says it all.
    assert "ConnectionResetError" not in result.output
    assert len(employees(database_url)) == 1000


def test_a_database_that_cannot_be_reached_stops_the_import_before_it_starts(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.live_server import free_port

    port = free_port()
    monkeypatch.setenv("REVMENTOR_DATABASE_URL", f"postgresql+asyncpg://u:pw@127.0.0.1:{port}/x")
    get_settings.cache_clear()
    file = write_csv(tmp_path / "people.csv", HEADER, people(1))

    result = import_file(file)

    assert result.exit_code == 1
    assert f"error: cannot use the database at postgresql+asyncpg://u:***@127.0.0.1:{port}/x" in (
        result.stderr
    )
    assert "ConnectionRefusedError" not in result.output


def test_a_byte_order_mark_is_not_part_of_the_first_column(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "excel.csv"
    text = ",".join(HEADER) + "\r\nE1,a@example.com,Ann,Lee,3\r\n"
    file.write_bytes(b"\xef\xbb\xbf" + text.encode())

    result = import_file(file, "--map", "external_id=external_id")

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 1
    assert "ignored columns" not in result.stdout
    assert set(employees(database_url)) == {"E1"}


def test_a_large_file_streams_through_in_batches_of_2500_rows(
    database_url: str, tmp_path: Path
) -> None:
    file = write_csv(tmp_path / "big.csv", HEADER, people(*range(6000)))

    result = import_file(file)

    assert result.exit_code == 0, result.output
    assert outcomes(result)["created"] == 6000
    assert "batches: 3" in result.stdout
    delta_runs = runs(database_url)
    # One delta run (one push, one transaction) per batch: never more than 2,500 rows held.
    records = [(r.kind, r.status, r.records) for r in delta_runs]
    assert records == [("delta", "committed", 2500)] * 2 + [("delta", "committed", 1000)]

    async def count(session: AsyncSession) -> Any:
        return await session.scalar(select(func.count()).select_from(Employee))

    assert in_database(database_url, count) == 6000


@pytest.mark.parametrize("size", ["0", "10001"])
def test_a_batch_size_out_of_bounds_is_refused(
    database_url: str, tmp_path: Path, size: str
) -> None:
    file = write_csv(tmp_path / "people.csv", HEADER, people(1))

    result = import_file(file, "--batch-size", size)

    assert result.exit_code == 2
    assert "--batch-size" in result.stderr
    assert not schema_exists(database_url)  # refused before the database was touched


if TEST_DATABASE == "postgresql":

    def test_batches_in_flight_side_by_side_apply_as_one_at_a_time_would(
        database_url: str, tmp_path: Path
    ) -> None:
        header = [*HEADER, "manager_external_id", "job_title", "modified_at"]
        rows: list[list[object]] = [
            [f"E{n}", f"person{n}@example.com", "Person", f"No{n}", 3, manager, "Engineer", at]
            for n in range(1200)
            for manager in ["" if n == 0 else f"E{(n - 1) // 10}"]
            for at in ["2026-02-01T00:00:00Z" if n == 5 else "2026-01-01T00:00:00Z"]
        ]
        rows.reverse()  # every report comes before their manager, often batches before
        # E5 again, older, in the (small) batch after its first row's: it must be stale, as
        # it would be one batch at a time, not applied first by the batch that gets there first.
        # (The importer makes that batch wait; PostgreSQL's row locks and unique index happen
        # to order the two in practice too, so this pins the outcome, not the waiting.)
        rows.append(["E5", "person5@example.com", "P", "No5", 3, "E0", "CEO", "2026-01-15"])
        rows.insert(150, ["BAD1", "not-an-email", "X", "Y", 3, "", "", "2026-01-01"])
        rows.insert(900, ["BAD2", "bad2@example.com", "X", "Y", "high", "", "", "2026-01-01"])
        file = write_csv(tmp_path / "people.csv", header, rows)
        # E5 is stored already, older than both of its rows.
        earlier = write_csv(
            tmp_path / "earlier.csv",
            header,
            [["E5", "person5@example.com", "P", "No5", 3, "", "Intern", "2025-12-01"]],
        )
        assert import_file(earlier).exit_code == 0

        result = import_file(file, "--batch-size", "100", "--parallel", "4")

        assert result.exit_code == 0, result.output
        assert outcomes(result) == {
            "created": 1199,
            "updated": 1,
            "unchanged": 0,
            "stale": 1,
            "invalid": 2,
            "total": 1203,
        }
        assert "batches: 13" in result.stdout
        stored = employees(database_url)
        assert (stored["E5"].job_title, stored["E5"].given_name) == ("Engineer", "Person")
        # Managers that arrived in another batch in flight at the same time are linked too.
        name_of = {e.id: key for key, e in stored.items()}
        managers = {f"E{n}": name_of.get(stored[f"E{n}"].manager_id) for n in range(1, 1200)}
        assert managers == {f"E{n}": f"E{(n - 1) // 10}" for n in range(1, 1200)}
        # Rejected rows are written in the order of the file, with their own line numbers.
        rejected = error_rows(tmp_path / "people.errors.csv")
        assert [(r["line"], r["external_id"], r["field"]) for r in rejected] == [
            ("152", "BAD1", "email"),
            ("902", "BAD2", "job_level"),
        ]

    def test_a_batch_that_fails_beside_others_is_named_with_its_lines(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from app.domain import hris
        from app.domain.errors import Conflict

        real_push = hris.push_delta

        async def push_failing_on_e150(*args: Any, **kwargs: Any) -> Any:
            if any(row.external_id == "E150" for row in kwargs["records"]):
                raise Conflict("the database refused this batch", rule="test_fault")
            return await real_push(*args, **kwargs)

        monkeypatch.setattr(hris, "push_delta", push_failing_on_e150)
        file = write_csv(tmp_path / "people.csv", HEADER, people(*range(1000)))

        result = import_file(file, "--batch-size", "100", "--parallel", "4")

        assert result.exit_code == EXIT_IMPORT_FAILED
        # Batches 1 to 5 were started; the second failed while the third to fifth finished.
        assert (
            "the database refused this batch; 400 rows (4 batches) were pushed and stay "
            "applied, but not the rows on lines 102 to 201" in result.stderr
        )
        stored = set(employees(database_url))
        assert stored == {f"E{n}" for n in [*range(100), *range(200, 500)]}
        assert outcomes(result)["created"] == 400

else:

    def test_batches_in_flight_side_by_side_need_postgresql(
        database_url: str, tmp_path: Path
    ) -> None:
        file = write_csv(tmp_path / "people.csv", HEADER, people(1, 2))

        result = import_file(file, "--parallel", "2")

        assert result.exit_code == 2
        assert "--parallel above 1 needs PostgreSQL" in result.stderr
        assert not schema_exists(database_url)
