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

    # Where clients reach the service: the base of URLs inside signed diplomas (the issuer id,
    # the credential status URL). Change it before issuing: it is signed into every diploma.
    public_base_url: str = "http://127.0.0.1:8000"
    # The organisation that issues the diplomas (the Open Badges issuer Profile's name).
    organisation_name: str = "aidiploma"

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

    # Outgoing webhooks. Subscriptions may target private/loopback addresses only when this is
    # true (an on-premises receiver); otherwise such URLs are refused (SSRF).
    webhooks_allow_private: bool = False
    # HR pull sources (pull_url and the pages it links to) may target private/loopback
    # addresses only when this is true (an HR system on the internal network).
    hris_allow_private: bool = False
    # A subscription is disabled after this many consecutive failed attempts.
    webhooks_disable_after_failures: int = Field(default=50, ge=1)
    webhooks_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # How long the previous secret keeps signing after a rotation (default 24 h).
    webhooks_rotation_overlap_seconds: int = Field(default=86400, ge=0, le=30 * 86400)
    # Parallel HTTP requests per worker.
    webhooks_delivery_concurrency: int = Field(default=8, ge=1, le=64)

    # Smallest group shown in aggregates: works council reports suppress smaller groups and
    # rollout feedback summaries hide the free text of smaller respondent groups.
    min_group_size: int = Field(default=5, ge=1)

    # xAPI: an actor's account {homePage, name} on this home page is the person with that
    # employee number. Pulling from a remote LRS on a schedule when an endpoint is set.
    xapi_account_homepage: str = "https://hr.example.org"
    xapi_sync_endpoint: str | None = None
    xapi_sync_key: str | None = None
    xapi_sync_secret: str | None = None
    xapi_sync_interval_seconds: float = Field(default=300.0, ge=5)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def should_run_embedded_worker(self) -> bool:
        return self.is_sqlite if self.embedded_worker is None else self.embedded_worker
