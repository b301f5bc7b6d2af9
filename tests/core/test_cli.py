"""The aidiploma command: a public interface for integration scripts."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select

from app.auth.models import ApiClient
from app.certification import service
from app.certification.models import Certification, PersonStatus
from app.cli import main
from app.core import clock
from app.evidence.models import Evidence
from tests.conftest import create_database, drop_database


@pytest.fixture
def fresh_database(database, tmp_path, monkeypatch):
    """A database of the same backend that the CLI may commit to, dropped afterwards."""
    db = create_database(database.backend, tmp_path)
    monkeypatch.setenv("AIDIPLOMA_DATABASE_URL", db.url)
    monkeypatch.setenv("AIDIPLOMA_SIGNING_KEY_PATH", str(tmp_path / "keys" / "key.pem"))
    yield db
    drop_database(db)


def test_clients_create_json_prints_exactly_one_object(fresh_database, capsys):
    code = main(
        [
            "clients",
            "create",
            "--name",
            "HR sync",
            "--scope",
            "org:write",
            "--scope",
            "org:read",
            "--json",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    payload = json.loads(out)
    assert set(payload) == {"client_id", "client_secret", "scopes"}
    assert payload["scopes"] == ["org:read", "org:write"]
    with Session(fresh_database.engine) as session:
        stored = session.exec(
            select(ApiClient).where(ApiClient.client_id == payload["client_id"])
        ).one()
    assert PasswordHasher().verify(stored.secret_hash, payload["client_secret"])


def test_clients_create_rejects_unknown_scope(fresh_database, capsys):
    assert main(["clients", "create", "--name", "x", "--scope", "root", "--json"]) == 2
    assert "unknown scopes" in capsys.readouterr().err


def test_migrate_and_audit_verify(fresh_database, capsys):
    assert main(["migrate"]) == 0
    main(["clients", "create", "--name", "a", "--scope", "org:read", "--json"])
    capsys.readouterr()
    assert main(["audit", "verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is True and report["checked"] == 1


def test_demo_loads_once_with_if_empty(fresh_database, capsys):
    assert main(["demo", "--if-empty", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["loaded"] is True
    assert first["client"]["scopes"] == ["admin"]
    assert main(["demo", "--if-empty", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["loaded"] is False
    assert second["client"]["client_id"] == first["client"]["client_id"], "credentials are kept"


def test_demo_has_every_status_and_refresher_renewals(fresh_database, capsys):
    """A newcomer sees each status, overdue people, and diplomas renewed by the refresher path."""
    assert main(["demo", "--json"]) == 0
    capsys.readouterr()
    today = clock.now().date()
    with Session(fresh_database.engine) as session:
        statuses = [service.derive(s, today) for s in session.exec(select(PersonStatus))]
        renewals = session.exec(
            select(Certification).where(Certification.renews_id.is_not(None))  # type: ignore[union-attr]
        ).all()
        source_of = {str(e.id): e.source_ref or "" for e in session.exec(select(Evidence)).all()}
    assert {s["status"] for s in statuses} >= {
        "certified",
        "expiring",
        "expired",
        "in_progress",
        "not_started",
    }
    assert any(s["overdue"] for s in statuses) and any(s["compliant"] for s in statuses)
    by_refresher = [
        c
        for c in renewals
        if c.evidence_ids
        and all(source_of[e].startswith("demo-refresher-") for e in c.evidence_ids)
    ]
    assert by_refresher, "some diplomas were renewed in the window by the refresher path"
