"""Factories for org tests: a small organisation set up through the service layer."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.org import service, upsert
from app.org.schemas import JobFamilyIn, LocationIn


def make_org(session: Session) -> dict[str, Any]:
    """Units gem > dir-dv > team-kcc and gem > dir-sd, two locations, a job family, three roles."""
    result = upsert.upsert_org_units(
        session,
        records=[
            {"external_id": "gem", "name": "Gemeente", "kind": "business_unit"},
            {
                "external_id": "dir-dv",
                "name": "Dienstverlening",
                "kind": "department",
                "parent": "gem",
            },
            {"external_id": "team-kcc", "name": "KCC", "kind": "team", "parent": "dir-dv"},
            {
                "external_id": "dir-sd",
                "name": "Sociaal Domein",
                "kind": "department",
                "parent": "gem",
            },
        ],
    )
    assert result.applied, result
    service.create_location(session, data=LocationIn(external_id="stadhuis", name="Stadhuis"))
    service.create_location(session, data=LocationIn(external_id="noord", name="Noord"))
    service.create_job_family(
        session, data=JobFamilyIn(key="dienstverlening", name="Dienstverlening")
    )
    result = upsert.upsert_roles(
        session,
        records=[
            {"key": "klantcontactmedewerker", "name": "KCM", "job_family": "dienstverlening"},
            {"key": "teamleider", "name": "Teamleider"},
            {"key": "beleidsadviseur", "name": "Beleidsadviseur"},
        ],
    )
    assert result.applied, result
    session.flush()
    return {
        "units": {u.external_id: u.id for u in service.list_org_units(session, page=_all())[0]},
        "roles": {r.key: r.id for r in service.list_roles(session, page=_all())[0]},
    }


def person(number: str, **overrides: Any) -> dict[str, Any]:
    """A person record in input form."""
    values: dict[str, Any] = {
        "employee_number": number,
        "given_name": "Anna",
        "family_name": f"Jansen {number}",
        "email": f"{number.lower()}@havenstad.nl",
        "org_unit": "team-kcc",
        "location": "stadhuis",
        "roles": [{"role": "klantcontactmedewerker", "start_date": "2024-01-01"}],
        "employment_start_date": "2020-01-01",
    }
    values.update(overrides)
    return values


def _all() -> Any:
    from app.core.pagination import PageParams

    return PageParams(limit=1000, cursor=None, updated_since=None)
