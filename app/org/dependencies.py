"""Loaders for path parameters: each returns the row or raises NotFound (404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path
from sqlmodel import Session

from app.core.routing import get_session
from app.org import service
from app.org.models import JobFamily, Location, Person

SessionDep = Annotated[Session, Depends(get_session)]


def valid_person(
    session: SessionDep,
    person_key: Annotated[
        str,
        Path(
            max_length=400,
            description="The person's id, `employee:{employee number}` or `email:{work email}`.",
            examples=["employee:HS0042"],
        ),
    ],
) -> Person:
    return service.get_person_by_key(session, key=person_key)


def valid_location(session: SessionDep, location_id: uuid.UUID) -> Location:
    return service.get_location(session, location_id=location_id)


def valid_job_family(session: SessionDep, job_family_id: uuid.UUID) -> JobFamily:
    return service.get_job_family(session, job_family_id=job_family_id)


ValidPerson = Annotated[Person, Depends(valid_person)]
ValidLocation = Annotated[Location, Depends(valid_location)]
ValidJobFamily = Annotated[JobFamily, Depends(valid_job_family)]
