"""Settings, read once from the environment (prefix ``REVMENTOR_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/revmentor.db"


class Settings(BaseSettings):
    """Every knob Revmentor has; each is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="REVMENTOR_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_echo: bool = False
    secret_key: SecretStr | None = None
    docs_enabled: bool = True
    debug: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    batch_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    token_default_ttl_days: int = Field(default=90, ge=1)
    token_touch_interval_seconds: int = Field(default=60, ge=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    maintenance_interval_seconds: int = Field(default=60, ge=1)
    # A snapshot run that would deactivate more than this share of its source's active people
    # is held for an admin instead.
    hris_max_deactivation_share: float = Field(default=0.10, ge=0, le=1)
    # GraphQL: the IDE page and introspection default to on, except in production.
    graphql_ide: bool | None = None
    graphql_introspection: bool | None = None
    graphql_max_depth: int = Field(default=15, ge=2, le=100)
    graphql_max_aliases: int = Field(default=30, ge=0, le=1000)
    graphql_max_tokens: int = Field(default=3000, ge=100, le=100_000)
    graphql_max_query_bytes: int = Field(default=20_000, ge=1024, le=1024 * 1024)
    graphql_max_nodes: int = Field(default=50_000, ge=100, le=10_000_000)
    # The company's identity provider (OpenID Connect). Without an issuer, only Revmentor's
    # own API tokens are accepted.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256"])
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    oidc_require_at_jwt: bool = False
    oidc_jwks_cache_seconds: int = Field(default=3600, ge=60)
    oidc_jwks_refresh_seconds: int = Field(default=60, ge=1)
    oidc_employee_claim: str = "email"
    oidc_employee_field: Literal["email", "external_id", "employee_number"] = "email"
    oidc_groups_claim: str = "groups"
    oidc_admin_groups: list[str] = Field(default_factory=list)
    oidc_program_manager_group_prefix: str | None = None
    oidc_scope_claims: list[str] = Field(default_factory=lambda: ["scope", "scp", "roles"])
    # Browser sign-in (authorization code with PKCE): Revmentor's client at the provider.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_allowed_redirects: list[str] = Field(default_factory=list)
    # The callback as the provider must call it, when Revmentor runs behind a proxy that does
    # not pass the public scheme and host on.
    oidc_redirect_url: str | None = None
    session_hours: int = Field(default=8, ge=1, le=24 * 30)

    @model_validator(mode="after")
    def _oidc_audience(self) -> Settings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError(
                "REVMENTOR_OIDC_AUDIENCE must be set with REVMENTOR_OIDC_ISSUER: tokens "
                "are accepted only when issued for this API"
            )
        if "none" in (a.lower() for a in self.oidc_algorithms):
            raise ValueError("REVMENTOR_OIDC_ALGORITHMS must not allow 'none'")
        return self

    @property
    def graphql_ide_enabled(self) -> bool:
        return self.graphql_ide if self.graphql_ide is not None else self.env != "production"

    @property
    def graphql_introspection_enabled(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.env != "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def production_problems(self) -> list[str]:
        """Why this configuration must not run in production (empty when it may)."""
        if self.env != "production":
            return []
        problems: list[str] = []
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
            problems.append("REVMENTOR_SECRET_KEY must be set to at least 32 characters")
        if self.is_sqlite:
            problems.append("REVMENTOR_DATABASE_URL must point to PostgreSQL, not SQLite")
        if self.docs_enabled:
            problems.append("REVMENTOR_DOCS_ENABLED must be false (API docs are not public)")
        if self.debug:
            problems.append("REVMENTOR_DEBUG must be false")
        if self.db_echo:
            problems.append("REVMENTOR_DB_ECHO must be false (it logs query parameters)")
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
            problems.append("REVMENTOR_OIDC_ISSUER must be an https:// URL")
        return problems


class ConfigurationError(RuntimeError):
    """The settings are unsafe or inconsistent for the chosen environment."""


def check_settings(settings: Settings) -> None:
    """Refuse to run with a configuration that is unsafe for its environment."""
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own instead)."""
    return Settings()
