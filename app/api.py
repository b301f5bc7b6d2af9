"""The one module that includes every router."""

from fastapi import FastAPI

from app.auth import router as auth
from app.certification import credentials_router as credentials
from app.certification import router as certification
from app.competencies import router as competencies
from app.core import health
from app.integrations.hris import router as hris
from app.integrations.scim import router as scim
from app.integrations.scorm import router as scorm
from app.integrations.webhooks import router as webhooks
from app.integrations.xapi import router as xapi
from app.org import router as org
from app.registry import router as registry
from app.reports import rhythm_router as report_rhythm
from app.reports import router as reports
from app.reports import visual_router as report_visuals
from app.rollout import router as rollout


def include_routers(app: FastAPI) -> None:
    # Routes are matched one by one in order, at a real cost per route passed: the hottest
    # paths (status polling by LMS and HR, LMS statements) go first.
    app.include_router(certification.status_router)
    app.include_router(xapi.router)
    app.include_router(scorm.router)
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
    app.include_router(rollout.router)
    app.include_router(report_visuals.router)
    app.include_router(report_rhythm.router)
    app.include_router(reports.router)
    app.include_router(credentials.router)
    app.include_router(webhooks.router)
    app.include_router(scim.router)
    app.include_router(hris.router)
