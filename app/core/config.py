"""Settings read from AIDIPLOMA_* environment variables; built once in create_app() or the CLI."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    """Every knob of the service; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_prefix="AIDIPLOMA_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'aidiploma.db'}"
    # Migrate on start. None means: yes for the embedded SQLite, no for a server database.
    auto_migrate: bool | None = None

    token_issuer: str = "urn:aidiploma"
    token_audience: str = "aidiploma-api"
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=86400)
    signing_key_path: Path = DEFAULT_DATA_DIR / "keys" / "signing-key.pem"

    # An external identity provider (Entra ID, Keycloak) whose tokens are accepted too.
    external_issuer: str | None = None
    external_audience: str | None = None
    external_jwks_url: str | None = None
    external_jwks_cache_seconds: int = 3600
    # JSON object: external scp/roles value -> list of aidiploma scopes.
    external_scope_map: dict[str, list[str]] = Field(default_factory=dict)
    # Which claim of the external token names the client (Entra: azp or appid).
    external_client_claim: str = "azp"

    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool = True

    # Run the outbox/jobs worker inside the API process. None: yes on SQLite, no otherwise.
    embedded_worker: bool | None = None
    worker_poll_seconds: float = 1.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def should_run_embedded_worker(self) -> bool:
        return self.is_sqlite if self.embedded_worker is None else self.embedded_worker
