"""Liveness, readiness and Prometheus metrics: the operator's endpoints, no token needed for
liveness and readiness."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.core import migrations
from app.core.errors import problem_response

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    status: str
    database: str | None = None
    schema_revision: str | None = None


@router.get("/healthz", summary="Liveness: the process answers", response_model=HealthStatus)
def healthz() -> Any:
    """Answers 200 while the process runs; touches nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and schema at head",
    response_model=HealthStatus,
    responses={
        503: {
            "description": "Not ready",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    },
)
async def readyz(request: Request) -> Any:
    """200 when the database answers and its schema is at the migrations' head, else 503."""
    engine: sa.Engine = request.app.state.engine

    def probe() -> str | None:
        return migrations.current_revision(engine)

    try:
        revision = await run_in_threadpool(probe)
    except sa.exc.SQLAlchemyError:
        return problem_response(request, 503, detail="The database is not reachable.")
    if revision != request.app.state.head_revision:
        return problem_response(
            request, 503, detail=f"The schema is at {revision}, not at head; run aidiploma migrate."
        )
    return {"status": "ready", "database": engine.dialect.name, "schema_revision": revision}


def metrics_response(request: Request) -> Response:
    """Prometheus text exposition of the app's registry."""
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
