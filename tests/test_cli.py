"""The ``revmentor`` command line, run as an operator would, each test on a fresh database.

These tests are synchronous on purpose: every command calls ``asyncio.run`` itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import EXIT_DATABASE_FAILED, cli
from app.config import Settings, get_settings
from app.db.engine import Database
from app.db.models import Employee
from app.demo import ADMIN_EMAIL
from app.domain.actors import Actor, ActorKind
from app.domain.errors import Unauthenticated
from app.domain.tokens import authenticate_token
from tests.conftest import TEST_DATABASE, _create_postgres_database, _drop_postgres_database
from tests.live_server import free_port

COMMITTED_OPENAPI = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Only what a test sets reaches the CLI's settings, which are read afresh."""
    for name in list(os.environ):
        if name.startswith("REVMENTOR_") and not name.startswith("REVMENTOR_TEST_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def cli_database_url(environment: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An empty database (not even migrated), named in ``REVMENTOR_DATABASE_URL``."""
    name = f"revmentor_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if TEST_DATABASE == "postgresql":
        url = asyncio.run(_create_postgres_database(name))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    environment.setenv("REVMENTOR_DATABASE_URL", url)
    yield url
    if TEST_DATABASE == "postgresql":
        asyncio.run(_drop_postgres_database(name))


def authenticate(url: str, token: str) -> tuple[Actor, Employee | None]:
    """What the API would make of a token: the actor, and the employee it stands for."""

    async def check() -> tuple[Actor, Employee | None]:
        db = Database(Settings(env="test", cli_database_url=url))
        try:
            async with db.session() as session:
                actor = await authenticate_token(session, token)
                employee = None
                if actor.employee_id is not None:
                    employee = await session.get(Employee, actor.employee_id)
                return actor, employee
        finally:
            await db.dispose()

    return asyncio.run(check())


def refused(url: str, token: str) -> bool:
    try:
        authenticate(url, token)
    except Unauthenticated:
        return True
    return False


def issued_token(result: Result) -> str:
    """The token, alone on the last line of stdout (``make run`` takes it with ``tail -n 1``)."""
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert token.startswith("rvm_")
    assert token == token.strip()
    assert " " not in token
    return token


def test_migrate_brings_an_empty_database_to_the_latest_revision(cli_database_url: str) -> None:
    first = run("migrate")
    again = run("migrate")

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("database at revision ")
    assert "None" not in first.stdout
    assert again.exit_code == 0, again.output
    assert again.stdout == first.stdout


def test_migrate_upgrades_a_database_an_earlier_release_left(cli_database_url: str) -> None:
    """A database at an earlier revision (an upgrade of Revmentor) is brought forward, and
    every command that starts with the migration step does the same."""
    from app.db.migrations import upgrade
    from app.db.revision import SCHEMA_HEAD, stored_revision

    async def at(revision: str | None) -> str | None:
        db = Database(Settings(env="test", database_url=cli_database_url))
        try:
            if revision is not None:
                await upgrade(db.engine, revision)
            return await stored_revision(db.engine)
        finally:
            await db.dispose()

    earlier = str(int(SCHEMA_HEAD) - 1).zfill(4)
    assert asyncio.run(at(earlier)) == earlier

    result = run("migrate")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"database at revision {SCHEMA_HEAD}\n"
    assert asyncio.run(at(None)) == SCHEMA_HEAD


def test_token_create_bootstraps_an_admin_on_a_fresh_install(cli_database_url: str) -> None:
    result = run("token", "create", "--email", "new.person@example.com", "--role", "admin")

    token = issued_token(result)
    assert "will not be shown again" in result.stderr
    assert token not in result.stderr
    actor, employee = authenticate(cli_database_url, token)
    assert actor.kind is ActorKind.PERSON
    assert actor.is_admin
    assert employee is not None
    assert (employee.email, employee.display_name) == ("new.person@example.com", "New Person")

    # A second token for the same person finds the record instead of making another.
    second = issued_token(run("token", "create", "--email", "New.Person@example.com"))
    assert second != token
    again = authenticate(cli_database_url, second)[1]
    assert again is not None
    assert again.id == employee.id


def test_token_create_for_a_service_client_carries_its_scopes(cli_database_url: str) -> None:
    result = run(
        "token",
        "create",
        "--service",
        "workday",
        "--scope",
        "hris:write",
        "--scope",
        "employees:write",
    )

    actor, employee = authenticate(cli_database_url, issued_token(result))
    assert actor.kind is ActorKind.SERVICE
    assert actor.service_name == "workday"
    assert actor.scopes == {"hris:write", "employees:write"}
    assert not actor.is_admin
    assert employee is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --email or --service"),
        (
            ["--email", "a@example.com", "--service", "workday"],
            "give exactly one of --email or --service",
        ),
        (["--service", "workday", "--scope", "everything"], "unknown scope everything"),
        (["--email", "a@example.com", "--role", "owner"], "--role is admin or participant"),
        (["--email", "not-an-email"], "email"),
        (["--email", "a@example.com", "--scope", "read"], "scopes are for service clients"),
    ],
)
def test_token_create_refuses_bad_input_with_a_clear_message(
    cli_database_url: str, args: list[str], message: str
) -> None:
    result = run("token", "create", *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_revoked_token_no_longer_authenticates(cli_database_url: str) -> None:
    by_id = issued_token(run("token", "create", "--service", "workday", "--scope", "read"))
    by_prefix = issued_token(run("token", "create", "--email", "someone@example.com"))
    by_id_actor, _ = authenticate(cli_database_url, by_id)
    by_prefix_actor, _ = authenticate(cli_database_url, by_prefix)

    revoked = run("token", "revoke", str(by_id_actor.token_id))
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == f"revoked {by_id_actor.token_id}"
    assert refused(cli_database_url, by_id)
    assert not refused(cli_database_url, by_prefix)

    revoked = run("token", "revoke", by_prefix[:12])
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == f"revoked {by_prefix_actor.token_id}"
    assert refused(cli_database_url, by_prefix)

    again = run("token", "revoke", by_prefix[:12])
    assert again.exit_code == 1
    assert "already revoked" in again.stderr
    unknown = run("token", "revoke", "rvm_nosuchtk")
    assert unknown.exit_code == 1
    assert "no single token matches" in unknown.stderr


def test_demo_loads_once_and_its_admin_can_get_a_token(cli_database_url: str) -> None:
    loaded = run("demo")
    skipped = run("demo")
    # What `make run` does next.
    token = issued_token(run("token", "create", "--email", ADMIN_EMAIL, "--role", "admin"))

    assert loaded.exit_code == 0, loaded.output
    assert "Northwind Labs" in loaded.stdout
    assert "AI tools for leaders" in loaded.stdout
    assert "Inclusive leadership" in loaded.stdout
    assert ADMIN_EMAIL in loaded.stdout
    assert skipped.exit_code == 0, skipped.output
    assert "skipped" in skipped.stdout
    assert "Northwind Labs" not in skipped.stdout
    actor, employee = authenticate(cli_database_url, token)
    assert actor.is_admin
    assert employee is not None
    assert (employee.display_name, employee.job_title) == ("Amara Okafor", "Chief People Officer")


def test_openapi_check_passes_on_the_committed_document(environment: pytest.MonkeyPatch) -> None:
    result = run("openapi", "--check", "--output", str(COMMITTED_OPENAPI))

    assert result.exit_code == 0, result.output
    assert "is up to date" in result.stdout


def test_openapi_check_fails_on_a_stale_document(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "openapi.json"
    shutil.copy(COMMITTED_OPENAPI, stale)
    stale.write_text(stale.read_text().replace('"title": "Revmentor"', '"title": "Old"', 1))
    missing = tmp_path / "missing.json"

    result = run("openapi", "--check", "--output", str(stale))
    absent = run("openapi", "--check", "--output", str(missing))

    assert result.exit_code == 1
    assert "is stale" in result.stderr
    assert absent.exit_code == 1
    assert not missing.exists()


def test_openapi_writes_a_document_that_then_checks_clean(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    output = tmp_path / "api" / "openapi.json"

    written = run("openapi", "--output", str(output))
    checked = run("openapi", "--check", "--output", str(output))

    assert written.exit_code == 0, written.output
    assert '"openapi"' in output.read_text()
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize(
    "command", [["migrate"], ["demo"], ["token", "create", "--service", "workday"]]
)
def test_production_mode_refuses_development_defaults(
    environment: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "prod.db"
    environment.setenv("REVMENTOR_ENV", "production")
    environment.setenv("REVMENTOR_DATABASE_URL", f"sqlite+aiosqlite:///{database}")

    result = run(*command)

    assert result.exit_code == 2
    assert "refusing to start in production" in result.stderr
    assert "REVMENTOR_SECRET_KEY" in result.stderr
    assert "SQLite" in result.stderr
    assert "REVMENTOR_DOCS_ENABLED" in result.stderr
    assert not database.exists()


def test_production_mode_names_only_what_is_still_wrong(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.setenv("REVMENTOR_ENV", "production")
    environment.setenv("REVMENTOR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}")
    environment.setenv("REVMENTOR_SECRET_KEY", "x" * 40)
    environment.setenv("REVMENTOR_DOCS_ENABLED", "false")

    result = run("migrate")

    assert result.exit_code == 2
    assert "SQLite" in result.stderr
    assert "REVMENTOR_SECRET_KEY" not in result.stderr
    assert "REVMENTOR_DOCS_ENABLED" not in result.stderr


@pytest.mark.parametrize("command", [["migrate"], ["demo"], ["serve"]])
def test_a_database_that_cannot_be_reached_is_one_line_not_a_traceback(
    environment: pytest.MonkeyPatch, command: list[str]
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://revmentor:s3cret@127.0.0.1:{port}/revmentor"
    environment.setenv("REVMENTOR_DATABASE_URL", url)

    result = run(*command)

    assert result.exit_code == EXIT_DATABASE_FAILED
    assert result.stderr.startswith(
        f"error: cannot use the database at postgresql+asyncpg://revmentor:***@127.0.0.1:{port}"
        "/revmentor: "
    )
    assert "Connect call failed" in result.stderr
    assert "s3cret" not in result.output
    assert "ConnectionRefusedError" not in result.output  # no traceback of it
