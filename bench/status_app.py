"""The app served by bench_status_lookup.py: the real API plus two reference endpoints that
exist only here (never in the product): the stack's ceiling and a naive ORM lookup."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from fastapi import FastAPI, Response
from sqlmodel import Session

from app.core.config import Settings
from app.core.keys import SigningKey
from app.main import create_app
from app.org.models import Person

CONSTANT = json.dumps(
    {
        "person_id": str(uuid.UUID(int=1)),
        "employee_number": "B000001",
        "tier": "advanced",
        "status": "certified",
        "valid_until": "2027-06-01",
        "required_tier": "advanced",
        "due_date": "2026-07-01",
        "compliant": True,
        "overdue": False,
        "certification_id": None,
        "model_version_id": None,
        "evaluated_at": "2026-11-26T12:00:00+00:00",
    }
).encode()


def build() -> FastAPI:
    settings = Settings(
        database_url=os.environ["BENCH_DATABASE_URL"],
        embedded_worker=False,
        auto_migrate=False,
        log_level="WARNING",
    )
    app = create_app(settings, signing_key=SigningKey(Path(os.environ["BENCH_KEY"]).read_bytes()))
    engine = app.state.engine

    @app.get("/bench/ceiling", include_in_schema=False)
    async def ceiling() -> Response:
        return Response(CONSTANT, media_type="application/json")

    @app.get("/bench/naive/{person_id}", include_in_schema=False)
    def naive(person_id: uuid.UUID) -> Response:
        with Session(engine) as session:
            person = session.get(Person, person_id)
            body = (
                {"id": str(person.id), "employee_number": person.employee_number} if person else {}
            )
        return Response(json.dumps(body), media_type="application/json")

    # The references go first in the route list, like endpoints of a bare app: route
    # matching walks the list in order and must not tax the references for the API's size.
    routes = app.router.routes
    for _ in range(2):
        routes.insert(0, routes.pop())
    return app
