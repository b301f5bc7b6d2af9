"""`aidiploma import people|org-units|roles FILE.csv` against a fresh throwaway database."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from app import cli
from app.core.db import create_db_engine
from app.org.models import OrgUnit, Person
from tests.conftest import create_database, drop_database


@pytest.fixture
def database_url(database, tmp_path, monkeypatch):
    """A database of its own (the shared one is kept clean by rolled-back transactions)."""
    own = create_database(database.backend, tmp_path)
    monkeypatch.setenv("AIDIPLOMA_DATABASE_URL", own.url)
    yield own.url
    drop_database(own)


def test_cli_import_dry_run_then_import(database_url, tmp_path, capsys):
    units = tmp_path / "units.csv"
    units.write_text(
        "\ufeffCode;Naam;Soort;Bovenliggend\ngem;Gemeente;business_unit;\nteam-kcc;KCC;team;gem\n",
        encoding="utf-8",
    )
    roles = tmp_path / "roles.csv"
    roles.write_text("key,name\nklantcontactmedewerker,KCM\n", encoding="utf-8")
    people = tmp_path / "people.csv"
    people.write_text(
        "employee_number,given_name,family_name,org_unit,roles\n"
        "HS0001,Anna,Jansen,team-kcc,klantcontactmedewerker\n"
        "HS0002,Bram,Bakker,nope,klantcontactmedewerker\n",
        encoding="utf-8",
    )
    maps = ["--map", "Code=external_id", "--map", "Naam=name", "--map", "Soort=kind"]
    maps += ["--map", "Bovenliggend=parent"]
    assert cli.main(["import", "org-units", str(units), "--dry-run", *maps]) == 0
    assert "would change: 2 created" in capsys.readouterr().out
    assert cli.main(["import", "org-units", str(units), "--delimiter", ";", *maps]) == 0
    assert cli.main(["import", "roles", str(roles)]) == 0
    capsys.readouterr()
    assert cli.main(["import", "people", str(people), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"][0]["line"] == 3 and report["errors"][0]["field"] == "org_unit"
    engine = create_db_engine(database_url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(OrgUnit)).one() == 2
        assert session.exec(select(func.count()).select_from(Person)).one() == 0
    engine.dispose()
