"""The one module that includes every router."""

from fastapi import FastAPI

from app.auth import router as auth
from app.certification import router as certification
from app.competencies import router as competencies
from app.core import health
from app.integrations.webhooks import router as webhooks
from app.org import router as org
from app.registry import router as registry


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(auth.keys_router)
    app.include_router(auth.token_router)
    app.include_router(auth.metrics_router)
    app.include_router(auth.clients_router)
    app.include_router(auth.audit_router)
    app.include_router(org.router)
    app.include_router(registry.router)
    app.include_router(competencies.router)
    app.include_router(certification.evidence_router)
    app.include_router(certification.router)
    app.include_router(webhooks.router)
