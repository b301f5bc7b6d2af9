"""CSV import of people, org units and roles: BOM, `;` and `,`, quotes, header mapping, dry run."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.org.models import OrgUnit, Person
from tests.factories import auth_headers
from tests.org.factories import make_org


@pytest.fixture
def org(db):
    return make_org(db)


@pytest.fixture
def rw(db, app):
    return {**auth_headers(db, app, "org:read", "org:write"), "Content-Type": "text/csv"}


def _count(db, model) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


DUTCH = (
    "\ufeffPersoneelsnummer;Voornaam;Achternaam;E-mail;Afdeling;Functies;Datum in dienst\r\n"
    'HS0001;Anna;"de Vries; van Dam";anna@havenstad.nl;team-kcc;klantcontactmedewerker;01-02-2020\r\n'
    'HS0002;Bram;"Bakker ""jr.""";bram@havenstad.nl;dir-dv;"teamleider|beleidsadviseur:2023-05-01";2019-01-01\r\n'
)
MAPPING = [
    "Personeelsnummer=employee_number",
    "Voornaam=given_name",
    "Achternaam=family_name",
    "E-mail=email",
    "Afdeling=org_unit",
    "Functies=roles",
    "Datum in dienst=employment_start_date",
]


def test_import_people_dutch_excel_with_bom_semicolons_quotes_and_mapping(client, db, org, rw):
    response = client.post(
        "/imports/people", params={"map": MAPPING}, content=DUTCH.encode("utf-8"), headers=rw
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["delimiter"] == ";" and report["applied"] is True
    assert report["counts"]["created"] == 2
    anna = client.get("/people/employee:HS0001", headers=rw).json()
    assert anna["family_name"] == "de Vries; van Dam"
    assert anna["employment_start_date"] == "2020-02-01"
    bram = client.get("/people/employee:HS0002", headers=rw).json()
    assert bram["family_name"] == 'Bakker "jr."'
    assert {r["role"]: r["start_date"] for r in bram["roles"]} == {
        "teamleider": "2019-01-01",
        "beleidsadviseur": "2023-05-01",
    }
    again = client.post(
        "/imports/people", params={"map": MAPPING}, content=DUTCH.encode("utf-8"), headers=rw
    )
    assert again.json()["counts"]["unchanged"] == 2


def test_comma_delimiter_and_quoted_multiline_field(client, db, org, rw):
    text = (
        "key,name,job_family,description\n"
        'data-analist,Data-analist,dienstverlening,"Analyseert data,\nmaakt dashboards"\n'
    )
    response = client.post("/imports/roles", content=text.encode(), headers=rw)
    assert response.status_code == 200, response.text
    assert response.json()["delimiter"] == ","
    roles = client.get("/roles", headers=rw).json()["items"]
    analyst = [r for r in roles if r["key"] == "data-analist"][0]
    assert analyst["description"] == "Analyseert data,\nmaakt dashboards"


def test_dry_run_reports_bad_lines_and_writes_nothing(client, db, org, rw):
    text = (
        "employee_number,given_name,family_name,email,org_unit,roles\n"
        "HS0001,Anna,Jansen,anna@havenstad.nl,team-kcc,klantcontactmedewerker\n"
        "HS0002,Bram,Bakker,not-an-email,team-kcc,klantcontactmedewerker\n"
        '"HS0003",Cor,"Multi\nline",cor@havenstad.nl,nope,klantcontactmedewerker\n'
        "HS0004,Dirk,Dekker,dirk@havenstad.nl,team-kcc,klantcontactmedewerker,extra\n"
    )
    response = client.post("/imports/people?dry_run=true", content=text.encode(), headers=rw)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is False and report["dry_run"] is True
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "email"),
        (4, "org_unit"),
        (6, ""),
    ]
    assert report["counts"]["created"] == 1
    assert _count(db, Person) == 0


def test_bad_line_rejects_the_whole_import(client, db, org, rw):
    text = (
        "employee_number,given_name,family_name,roles\n"
        "HS0001,Anna,Jansen,klantcontactmedewerker\n"
        "HS0002,Bram,,klantcontactmedewerker\n"
    )
    response = client.post("/imports/people", content=text.encode(), headers=rw)
    assert response.status_code == 422
    assert response.json()["line_errors"][0]["line"] == 3
    assert response.json()["line_errors"][0]["field"] == "family_name"
    assert _count(db, Person) == 0


def test_missing_column_and_bad_mapping_and_media_type(client, db, org, rw):
    missing = client.post(
        "/imports/people?dry_run=true", content=b"employee_number\nHS1\n", headers=rw
    )
    assert {e["field"] for e in missing.json()["errors"]} == {"given_name", "family_name", "roles"}
    bad_map = client.post("/imports/people", params={"map": "x=nope"}, content=b"a\n", headers=rw)
    assert bad_map.status_code == 400
    json_body = client.post(
        "/imports/people", json={"a": 1}, headers={**rw, "Content-Type": "application/json"}
    )
    assert json_body.status_code == 415
    latin1 = client.post("/imports/people", content="naam\nJos\xe9\n".encode("latin-1"), headers=rw)
    assert latin1.status_code == 400


def test_import_org_units_parents_later_in_file(client, db, org, rw):
    text = "external_id;name;kind;parent;active\nteam-wi;Werk en Inkomen;team;dir-sd;ja\nteam-x;X;team;team-wi;nee\n"
    response = client.post("/imports/org-units", content=text.encode(), headers=rw)
    assert response.status_code == 200, response.text
    unit = db.exec(select(OrgUnit).where(OrgUnit.external_id == "team-x")).one()
    assert unit.active is False
