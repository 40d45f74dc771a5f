"""The committed GraphQL schema (openapi/schema.graphql) is the schema the code serves, and
``revmentor graphql-schema --check`` catches a stale copy."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from app.api.graphql.schema import SDL_PATH, build_schema, sdl
from app.cli import cli
from app.config import Settings

COMMITTED_SDL = Path(__file__).resolve().parents[3] / "openapi" / "schema.graphql"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_the_committed_schema_is_the_served_schema() -> None:
    assert SDL_PATH == COMMITTED_SDL
    assert COMMITTED_SDL.read_text() == sdl(), (
        "openapi/schema.graphql is stale: run `revmentor graphql-schema`"
    )


def test_the_schema_does_not_depend_on_the_limits_or_the_introspection_switch() -> None:
    locked = Settings(
        env="production", graphql_introspection=False, graphql_max_depth=3, graphql_max_nodes=100
    )

    assert build_schema(locked).as_str() + "\n" == sdl()


def test_the_schema_describes_the_relay_conventions() -> None:
    schema = sdl()

    assert "interface Node {" in schema
    assert "node(id: ID!): Node" in schema
    assert "type PageInfo {" in schema
    assert "type Query {" in schema


def test_check_passes_on_the_committed_schema() -> None:
    result = run("graphql-schema", "--check", "--output", str(COMMITTED_SDL))

    assert result.exit_code == 0, result.output
    assert "is up to date" in result.stdout


def test_check_fails_on_a_stale_schema(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text(sdl().replace("type PageInfo {", "type PageInfo {\n  removedLater: Int", 1))
    before = stale.read_text()
    missing = tmp_path / "missing.graphql"

    result = run("graphql-schema", "--check", "--output", str(stale))
    absent = run("graphql-schema", "--check", "--output", str(missing))

    assert result.exit_code == 1
    assert "is stale" in result.stderr
    assert stale.read_text() == before  # --check never writes
    assert absent.exit_code == 1
    assert "is missing" in absent.stderr
    assert not missing.exists()


def test_the_command_writes_a_schema_that_then_checks_clean(tmp_path: Path) -> None:
    output = tmp_path / "api" / "schema.graphql"

    written = run("graphql-schema", "--output", str(output))
    checked = run("graphql-schema", "--check", "--output", str(output))
    printed = run("graphql-schema", "--output", "-")

    assert written.exit_code == 0, written.output
    assert output.read_text() == sdl()
    assert checked.exit_code == 0, checked.output
    assert printed.stdout == sdl()


def test_the_readme_examples_are_valid_against_the_schema() -> None:
    """Every GraphQL example in the README parses and validates (field names, arguments,
    enum values), so a schema change cannot quietly break the documentation."""
    from graphql import parse, validate

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    examples = re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)
    assert len(examples) >= 2
    schema = build_schema()._schema
    for example in examples:
        errors = validate(schema, parse(example))
        assert errors == [], f"{example}\n{errors}"
