"""create_app(): lifespan, middleware, error handlers and the API router; nothing else."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry

from app import api
from app.auth.tokens import ExternalJWKS, TokenVerifier
from app.certification.status_read import AsyncServerReads, StatusReader
from app.core import migrations
from app.core.config import Settings
from app.core.db import create_db_engine, make_session_factory
from app.core.errors import install_error_handlers, problem_schemas
from app.core.idempotency import IdempotentReplay, replay_handler
from app.core.keys import SigningKey
from app.core.logging import configure_logging
from app.core.middleware import HTTPMetrics, RequestContextMiddleware
from app.integrations.scim.errors import install_scim_error_handlers
from app.integrations.xapi.statement_read import StatementReader

logger = logging.getLogger("aidiploma")

VERSION = "0.1.0"

DESCRIPTION = """
aidiploma runs an organisation's internal AI diploma: where AI is used and how
risky that is, which AI competencies each role needs, what evidence each person
has shown, who holds a valid diploma until when, and reports on all of it. It is
the evidence base for AI literacy under EU AI Act Article 4.

Authenticate with OAuth 2.0 client credentials at `POST /oauth/token` and send
the JWT as `Authorization: Bearer <token>`. Errors are RFC 9457
`application/problem+json`. Conventions (pagination, idempotency, ETags):
docs/api-conventions.md.
"""

TAGS = [
    {"name": "health", "description": "Liveness, readiness and metrics."},
    {"name": "auth", "description": "OAuth 2.0 token endpoint and public keys."},
    {"name": "api-clients", "description": "Machine clients and their scopes."},
    {"name": "audit", "description": "The append-only, hash-chained audit trail."},
    {"name": "org", "description": "Org units, locations, job families, roles and people."},
    {"name": "imports", "description": "CSV imports for HR exports."},
    {
        "name": "registry",
        "description": "Step 1: the AI-use register and its overview of critical "
        "processes and roles.",
    },
    {
        "name": "competencies",
        "description": "Step 2: versioned competency models, tiers, role "
        "requirements, activity mappings, CASE interchange.",
    },
    {
        "name": "evidence",
        "description": "What people have shown: assessor entries and LMS results; voided, "
        "never edited.",
    },
    {
        "name": "certifications",
        "description": "Diplomas: status for LMS and HR, history, gaps, revocation, "
        "alternative evidence, the change feed.",
    },
    {
        "name": "credentials",
        "description": "Verifiable diplomas: Open Badges 3.0 credentials signed as VC-JWT, "
        "their public status and verification.",
    },
    {
        "name": "rollout",
        "description": "Steps 3 and 4: programmes with pilot and rollout phases, the people in "
        "scope, progress per phase, and structured feedback.",
    },
    {
        "name": "reports",
        "description": "Step 5: coverage, expiring diplomas, process risk, team, works council, "
        "board, Art. 4 dossier, Art. 26 oversight, effectiveness; JSON or CSV; SVG charts and "
        "printable HTML pages; daily snapshots, schedules per audience and published editions.",
    },
    {
        "name": "xapi",
        "description": "xAPI 1.0.3 / 2.0 Statement resource (aidiploma as an LMS's LRS; HTTP "
        "Basic with an API client's id and secret, or Bearer), cmi5, unmapped activities.",
    },
    {
        "name": "scorm",
        "description": "SCORM 1.2 and 2004 attempt results reported by an LMS.",
    },
    {
        "name": "webhooks",
        "description": "Signed outgoing webhooks (Standard Webhooks): subscriptions, "
        "delivery log, dead letters and replay.",
    },
    {
        "name": "scim",
        "description": "SCIM 2.0 (RFC 7643, RFC 7644) provisioning of users from identity and "
        "HR systems.",
    },
    {
        "name": "hris",
        "description": "HR integration: mapping rules, unmapped values, HR sources, signed HR "
        "events in and pull sync.",
    },
]


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    signing_key: SigningKey | None = None,
    http_client: httpx.Client | None = None,
) -> FastAPI:
    """Build the application; every dependency is built here or injected, none at import."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = engine or create_db_engine(settings.database_url)
    signing_key = signing_key or SigningKey.load_or_create(settings.signing_key_path)
    external_jwks = None
    if settings.external_jwks_url and settings.external_issuer:
        external_jwks = ExternalJWKS(
            settings.external_jwks_url,
            client=http_client or httpx.Client(),
            cache_seconds=settings.external_jwks_cache_seconds,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not migrations.is_current(engine):
            if not settings.should_auto_migrate:
                raise RuntimeError(
                    "The database schema is not at head; run `aidiploma migrate` "
                    "or set AIDIPLOMA_AUTO_MIGRATE=true."
                )
            logger.info("migrating the database to head")
            migrations.upgrade(settings.database_url)
        worker = None
        if settings.should_run_embedded_worker:
            from app.worker import Worker  # composition root; imported late on purpose

            worker = Worker(app.state.session_factory, settings=settings)
            worker.start_in_thread()
        # Move everything loaded at start-up out of the garbage collector's sight: full
        # collections then scan only request garbage, which keeps latency tails short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="aidiploma",
        version=VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    registry = CollectorRegistry()
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.signing_key = signing_key
    app.state.token_verifier = TokenVerifier(
        settings=settings, key=signing_key, external_jwks=external_jwks
    )
    app.state.metrics_registry = registry
    from app.worker import BacklogCollector  # composition root; imported late on purpose

    registry.register(BacklogCollector(lambda: app.state.session_factory))
    app.state.status_reader = StatusReader(engine.dialect)
    app.state.xapi_statement_reader = StatementReader(engine.dialect)
    if engine.dialect.name != "sqlite":
        # One pool of async connections for every hot read (status, xAPI statements).
        app.state.status_server_reads = AsyncServerReads(engine)
        app.state.xapi_server_reads = app.state.status_server_reads
    app.state.head_revision = migrations.head_revision()

    install_error_handlers(app)
    app.add_exception_handler(IdempotentReplay, replay_handler)
    install_scim_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID", "Location"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=HTTPMetrics(registry))
    api.include_routers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
        app.openapi_schema = schema
    return app.openapi_schema
