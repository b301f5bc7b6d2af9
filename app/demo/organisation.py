"""Demo organisation: Gemeente Havenstad's org units, locations, job families, roles and 300 people.

Deterministic (a seeded random), so every demo is the same; loaded through the
org service like any HR sync, so it is validated and audited like real data.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from sqlmodel import Session

from app.org import service
from app.org.schemas import JobFamilyIn, LocationIn

PEOPLE = 300
SEED = 20260126

# external_id: (Dutch name, English name, kind, parent)
ORG_UNITS: dict[str, tuple[str, str, str, str | None]] = {
    "gem": ("Gemeente Havenstad", "Municipality of Havenstad", "business_unit", None),
    "dir-dv": ("Directie Dienstverlening", "Public Services", "department", "gem"),
    "dir-sd": ("Directie Sociaal Domein", "Social Domain", "department", "gem"),
    "dir-bv": ("Directie Bedrijfsvoering", "Operations", "department", "gem"),
    "team-kcc": ("Klantcontactcentrum", "Contact Centre", "team", "dir-dv"),
    "team-bz": ("Burgerzaken", "Civil Affairs", "team", "dir-dv"),
    "team-wi": ("Werk en Inkomen", "Work and Income", "team", "dir-sd"),
    "team-wmo": ("Wmo en Jeugd", "Care and Youth", "team", "dir-sd"),
    "team-hr": ("HR en Organisatie", "HR", "team", "dir-bv"),
    "team-fin": ("Financiën", "Finance", "team", "dir-bv"),
    "team-iv": ("Informatievoorziening en ICT", "IT and Information", "team", "dir-bv"),
}
LOCATIONS = {
    "stadhuis": ("Stadhuis", "City Hall"),
    "noord": ("Wijkkantoor Noord", "North Office"),
    "zuid": ("Servicepunt Zuid", "South Service Point"),
}
JOB_FAMILIES = {
    "dienstverlening": ("Dienstverlening", "Public services"),
    "sociaal-domein": ("Sociaal domein", "Social domain"),
    "bedrijfsvoering": ("Bedrijfsvoering", "Operations"),
    "informatie-ict": ("Informatie en ICT", "Information and IT"),
}
# key: (Dutch name, English name, job family)
ROLES = {
    "klantcontactmedewerker": ("Klantcontactmedewerker", "Contact centre agent", "dienstverlening"),
    "medewerker-burgerzaken": (
        "Medewerker burgerzaken",
        "Civil affairs officer",
        "dienstverlening",
    ),
    "communicatieadviseur": ("Communicatieadviseur", "Communications adviser", "dienstverlening"),
    "consulent-werk-inkomen": (
        "Consulent werk en inkomen",
        "Benefits case handler",
        "sociaal-domein",
    ),
    "wmo-consulent": ("Wmo-consulent", "Care needs assessor", "sociaal-domein"),
    "jeugdconsulent": ("Jeugdconsulent", "Youth care case handler", "sociaal-domein"),
    "beleidsadviseur": ("Beleidsadviseur", "Policy adviser", "bedrijfsvoering"),
    "recruiter": ("Recruiter", "Recruiter", "bedrijfsvoering"),
    "financieel-adviseur": ("Financieel adviseur", "Financial adviser", "bedrijfsvoering"),
    "teamleider": ("Teamleider", "Team leader", "bedrijfsvoering"),
    "data-analist": ("Data-analist", "Data analyst", "informatie-ict"),
    "privacy-officer": ("Privacy officer", "Privacy officer", "informatie-ict"),
    "functioneel-beheerder": ("Functioneel beheerder", "Application manager", "informatie-ict"),
}
# Where the staff work: org unit -> (relative size, roles to draw from, locations to draw from)
STAFF: dict[str, tuple[int, list[str], list[str]]] = {
    "dir-dv": (2, ["communicatieadviseur"], ["stadhuis"]),
    "dir-sd": (3, ["beleidsadviseur"], ["stadhuis"]),
    "dir-bv": (3, ["beleidsadviseur"], ["stadhuis"]),
    "team-kcc": (14, ["klantcontactmedewerker"], ["stadhuis", "zuid"]),
    "team-bz": (10, ["medewerker-burgerzaken"], ["stadhuis", "zuid"]),
    "team-wi": (12, ["consulent-werk-inkomen"], ["noord", "stadhuis"]),
    "team-wmo": (12, ["wmo-consulent", "jeugdconsulent"], ["noord", "zuid"]),
    "team-hr": (5, ["recruiter"], ["stadhuis"]),
    "team-fin": (6, ["financieel-adviseur"], ["stadhuis"]),
    "team-iv": (7, ["data-analist", "privacy-officer", "functioneel-beheerder"], ["stadhuis"]),
}
GIVEN_NAMES = [
    "Anna",
    "Bram",
    "Chantal",
    "Daan",
    "Emma",
    "Fatima",
    "Gerrit",
    "Hanneke",
    "Ibrahim",
    "Jasper",
    "Kim",
    "Lotte",
    "Mohamed",
    "Noor",
    "Olga",
    "Pieter",
    "Quinten",
    "Roos",
    "Sanne",
    "Thijs",
    "Ugur",
    "Vera",
    "Willem",
    "Yara",
    "Zoë",
    "Lars",
    "Sophie",
    "Ruben",
    "Femke",
    "Bart",
    "Ilse",
    "Joost",
    "Marloes",
    "Niels",
    "Priya",
    "Sander",
    "Tessa",
    "Youssef",
    "Eline",
    "Koen",
]
FAMILY_NAMES = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Yilmaz",
    "El Amrani",
    "Kaya",
    "Janssen",
    "van Dijk",
    "Kok",
    "Verhoeven",
    "Postma",
    "Hoekstra",
    "Koster",
    "Prins",
]


def _email_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def _people(rng: random.Random) -> list[dict[str, Any]]:
    used_emails: set[str] = set()
    people: list[dict[str, Any]] = []

    def add(org_unit: str, roles: list[str], location: str, manager: str | None) -> str:
        number = f"HS{len(people) + 1:04d}"
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        local = f"{_email_part(given)}.{_email_part(family)}"
        email, suffix = f"{local}@havenstad.nl", 2
        while email in used_emails:
            email, suffix = f"{local}{suffix}@havenstad.nl", suffix + 1
        used_emails.add(email)
        start = f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-01"
        people.append(
            {
                "employee_number": number,
                "given_name": given,
                "family_name": family,
                "email": email,
                "org_unit": org_unit,
                "location": location,
                "manager": manager,
                "roles": [{"role": role, "start_date": start} for role in roles],
                "employment_start_date": start,
            }
        )
        return number

    # The management line: the municipal secretary, a director per department, a team leader
    # per team. They hold the team leader role; the tree has no cycles by construction.
    secretary = add("gem", ["teamleider"], "stadhuis", None)
    managers: dict[str, str] = {"gem": secretary}
    for unit, (_nl, _en, kind, parent) in ORG_UNITS.items():
        if kind == "department":
            managers[unit] = add(unit, ["teamleider"], "stadhuis", managers[str(parent)])
    for unit, (_nl, _en, kind, parent) in ORG_UNITS.items():
        if kind == "team":
            managers[unit] = add(unit, ["teamleider"], STAFF[unit][2][0], managers[str(parent)])
    units = list(STAFF)
    weights = [STAFF[unit][0] for unit in units]
    while len(people) < PEOPLE:
        unit = rng.choices(units, weights)[0]
        _size, roles, locations = STAFF[unit]
        held = [rng.choice(roles)]
        if unit == "team-iv" and rng.random() < 0.15:
            other = rng.choice(roles)
            if other not in held:
                held.append(other)
        add(unit, held, rng.choice(locations), managers[unit])
    return people


def load(session: Session, *, language: str) -> dict[str, int]:
    """Load the organisation; names in Dutch ("nl") or English ("en"), keys the same."""
    pick = 0 if language == "nl" else 1
    service.batch_upsert_org_units(
        session,
        records=[
            {"external_id": key, "name": names[pick], "kind": kind, "parent": parent}
            for key, (*names, kind, parent) in ORG_UNITS.items()
        ],
    )
    for key, names in LOCATIONS.items():
        service.create_location(session, data=LocationIn(external_id=key, name=names[pick]))
    for key, names in JOB_FAMILIES.items():
        service.create_job_family(session, data=JobFamilyIn(key=key, name=names[pick]))
    service.batch_upsert_roles(
        session,
        records=[
            {"key": key, "name": (nl, en)[pick], "job_family": family}
            for key, (nl, en, family) in ROLES.items()
        ],
    )
    people = _people(random.Random(SEED))
    service.batch_upsert_people(session, records=people)
    return {
        "org_units": len(ORG_UNITS),
        "locations": len(LOCATIONS),
        "job_families": len(JOB_FAMILIES),
        "roles": len(ROLES),
        "people": len(people),
    }
