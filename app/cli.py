"""The ``revmentor`` command line: serve, migrate, tokens, demo data, OpenAPI export."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app.config import ConfigurationError, Settings, check_settings, get_settings
from app.domain.errors import DomainError

cli = typer.Typer(help="Revmentor: reverse-mentoring programs, as a service.", no_args_is_help=True)
token_cli = typer.Typer(help="Issue and revoke API tokens.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")

OPENAPI_PATH = Path("openapi/openapi.json")


def _settings() -> Settings:
    settings = get_settings()
    try:
        check_settings(settings)
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


async def _migrate(settings: Settings) -> tuple[str | None, str | None]:
    from app.db.engine import Database
    from app.db.migrations import revision_status, upgrade

    db = Database(settings)
    try:
        await upgrade(db.engine)
        return await revision_status(db.engine)
    finally:
        await db.dispose()


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


def openapi_document() -> str:
    """The OpenAPI document as committed (sorted keys, trailing newline)."""
    from app.main import create_app

    app = create_app(Settings(docs_enabled=True, env="development"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write it; '-' for stdout.")] = OPENAPI_PATH,
    check: Annotated[
        bool, typer.Option(help="Fail if the file differs instead of writing.")
    ] = False,
) -> None:
    """Write (or check) the OpenAPI document."""
    document = openapi_document()
    if str(output) == "-":
        sys.stdout.write(document)
        return
    if check:
        if not output.exists():
            typer.echo(
                f"{output} is missing; run `revmentor openapi` in the project root", err=True
            )
            raise typer.Exit(1)
        if output.read_text() != document:
            typer.echo(f"{output} is stale; run `revmentor openapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document)
    typer.echo(f"wrote {output}")


def main() -> None:
    cli()
