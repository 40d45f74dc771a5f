"""Settings: safe local defaults, and production refuses unsafe ones."""

from __future__ import annotations

import pytest

from app.config import ConfigurationError, Settings, check_settings
from app.main import create_app


def test_local_defaults_are_usable_without_configuration() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url.startswith("sqlite+aiosqlite:///./var/")
    assert settings.max_body_bytes == 1024 * 1024
    check_settings(settings)


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("REVMENTOR_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("REVMENTOR_DOCS_ENABLED", "false")
    settings = Settings()
    assert settings.max_body_bytes == 2048
    assert settings.docs_enabled is False


def test_production_refuses_development_defaults() -> None:
    settings = Settings(env="production")
    with pytest.raises(ConfigurationError) as excinfo:
        create_app(settings)
    message = str(excinfo.value)
    assert "REVMENTOR_SECRET_KEY" in message
    assert "PostgreSQL" in message
    assert "REVMENTOR_DOCS_ENABLED" in message


def test_production_refuses_debug_and_short_secrets() -> None:
    settings = Settings(
        env="production",
        database_url="postgresql+asyncpg://revmentor@db/revmentor",
        secret_key="short",
        docs_enabled=False,
        debug=True,
    )
    problems = settings.production_problems()
    assert any("SECRET_KEY" in p for p in problems)
    assert any("DEBUG" in p for p in problems)


def test_production_starts_with_a_safe_configuration() -> None:
    settings = Settings(
        env="production",
        database_url="postgresql+asyncpg://revmentor@127.0.0.1/revmentor",
        secret_key="x" * 40,
        docs_enabled=False,
    )
    app = create_app(settings)
    paths = {getattr(r, "path", None) for r in app.routes}
    assert "/docs" not in paths
    assert "/openapi.json" not in paths
