"""Demo HR integration: Havenstad's HR system (AFAS-style JSON) as an HR source that the
worker pulls every night, the mapping rules from its department, function and location
codes, and the report of last night's pull with one function code nothing maps yet.

Last night's pull is replayed at load time from the organisation's own people, as the HR
system lists them (pull.apply, the same code as a real pull): nearly everyone unchanged,
one name changed after a marriage, one trainee's function code unmapped. Load after the
organisation (and after the rest, so the replay changes no other demo figure).
"""

from __future__ import annotations

import base64
import random
from typing import Any

from sqlmodel import Session

from app.demo import organisation
from app.integrations.hris import pull, service
from app.integrations.hris.events import record_from
from app.integrations.hris.models import MappingKind, PaginationKind
from app.integrations.hris.schemas import MappingIn, SourceIn

SOURCE = "afas-profit"
PAGE_SIZE = 100
# HR department codes -> org units (external ids)
DEPARTMENTS = {
    "GS": "gem",
    "DV": "dir-dv",
    "SD": "dir-sd",
    "BV": "dir-bv",
    "KCC": "team-kcc",
    "BZ": "team-bz",
    "W&I": "team-wi",
    "WMO-J": "team-wmo",
    "P&O": "team-hr",
    "FIN": "team-fin",
    "I&A": "team-iv",
}
# HR function codes -> roles
FUNCTIONS = {
    "F0110": "klantcontactmedewerker",
    "F0120": "medewerker-burgerzaken",
    "F0130": "communicatieadviseur",
    "F0210": "consulent-werk-inkomen",
    "F0220": "wmo-consulent",
    "F0230": "jeugdconsulent",
    "F0310": "beleidsadviseur",
    "F0320": "recruiter",
    "F0330": "financieel-adviseur",
    "F0340": "teamleider",
    "F0410": "data-analist",
    "F0420": "privacy-officer",
    "F0430": "functioneel-beheerder",
}
LOCATIONS = {"STH": "stadhuis", "WKN": "noord", "SPZ": "zuid"}
FIELD_PATHS = {
    "employee_number": "Medewerker",
    "given_name": "Roepnaam",
    "family_name": "Achternaam",
    "email": "EmailWerk",
    "org_unit": "Afdeling.Code",
    "job_code": "Functie.Code",
    "location": "Standplaats",
    "manager": "Leidinggevende",
}
# What HR calls each org unit, role and location (the mapping rules read backwards).
_DEPARTMENT_CODE = {target: code for code, target in DEPARTMENTS.items()}
_FUNCTION_CODE = {target: code for code, target in FUNCTIONS.items()}
_LOCATION_CODE = {target: code for code, target in LOCATIONS.items()}
MARRIED = "HS0217"  # listed under a new family name
TRAINEE = "HS0250"  # listed with a function code nothing maps yet
TRAINEE_CODE = "F9010"


def _listed(person: dict[str, Any]) -> dict[str, Any]:
    """One employee as the HR system lists them."""
    unit = _DEPARTMENT_CODE[person["org_unit"]]
    place = _LOCATION_CODE[person["location"]]
    item: dict[str, Any] = {
        "Medewerker": person["employee_number"],
        "Roepnaam": person["given_name"],
        "Achternaam": person["family_name"],
        "EmailWerk": person["email"],
        "Afdeling": {"Code": unit},
        "Standplaats": place,
    }
    if person["manager"]:
        item["Leidinggevende"] = person["manager"]
    roles = [held["role"] for held in person["roles"]]
    if len(roles) == 1:
        # HR knows one function per employee; the few with a second role in aidiploma
        # got it by hand, and a function code would replace both.
        item["Functie"] = {"Code": _FUNCTION_CODE[roles[0]], "Omschrijving": roles[0]}
    if person["employee_number"] == MARRIED:
        item["Achternaam"] = "Hoekstra-" + person["family_name"]
    if person["employee_number"] == TRAINEE:
        item["Functie"] = {"Code": TRAINEE_CODE, "Omschrijving": "Trainee data en AI"}
    return item


def load(session: Session, *, language: str) -> dict[str, int]:
    """The mapping rules, the HR source and last night's pull (replayed; see the module
    docstring). HR's codes and field names are Dutch in either language."""
    for kind, table in (
        (MappingKind.org_unit, DEPARTMENTS),
        (MappingKind.role, FUNCTIONS),
        (MappingKind.location, LOCATIONS),
    ):
        for code, target in table.items():
            service.put_mapping(
                session, data=MappingIn(kind=kind, source_value=code, target_key=target)
            )
    source = service.put_source(
        session,
        data=SourceIn(
            name=SOURCE,
            secret="whsec_" + base64.b64encode(b"havenstad-demo-hr-webhook-secret").decode(),
            field_paths=FIELD_PATHS,
            event_id_path="Id",
            event_type_path="Gebeurtenis",
            employee_path="Gegevens",
            pull_url="https://hr.havenstad.example/api/medewerkers",
            items_path="medewerkers",
            pagination=PaginationKind.next_link,
            next_link_path="links.volgende",
            complete_path="volledig",
            pull_every_minutes=24 * 60,
        ),
    )
    people = organisation._people(random.Random(organisation.SEED))
    items = [_listed(person) for person in people]
    listing = pull.Listing(
        records=[
            [record_from(item, FIELD_PATHS) for item in items[start : start + PAGE_SIZE]]
            for start in range(0, len(items), PAGE_SIZE)
        ],
        complete=True,
    )
    report = pull.apply(session, source=source, listing=listing)
    return {
        "hris_mappings": len(DEPARTMENTS) + len(FUNCTIONS) + len(LOCATIONS),
        "hris_sources": 1,
        "hris_pull_seen": report.seen,
    }
