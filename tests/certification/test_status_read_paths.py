"""The hot status read on a real engine (not the tests' joined connection): the pooled raw
connection on SQLite, the async read pool on the event loop on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import service as auth_service
from app.certification.models import PersonStatus
from tests.conftest import TEST_SIGNING_KEY, app_on_fresh_database
from tests.factories import make_api_client


def test_status_read_on_a_real_engine(database, tmp_path):
    with app_on_fresh_database(database.backend, tmp_path) as (app, fresh):
        assert (getattr(app.state, "status_server_reads", None) is not None) == (
            database.backend == "postgresql"
        )
        with Session(fresh.engine) as session:
            from tests.certification.factories import make_person

            person = make_person(session, employee_number="REAL1")
            session.add(
                PersonStatus(
                    person_id=person.id,
                    required_tier_key="basic",
                    required_tier_rank=1,
                    held_tier_key="basic",
                    held_tier_rank=1,
                    valid_until=date.today() + timedelta(days=400),
                    window_opens_on=date.today() + timedelta(days=310),
                    grace_until=date.today() + timedelta(days=430),
                )
            )
            reader = make_api_client(session, scopes=["certifications:read"])
            token = auth_service.issue_token(
                client=reader,
                scopes=reader.scopes,
                key=TEST_SIGNING_KEY,
                settings=app.state.settings,
            )
            session.commit()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            client = TestClient(app)
            for _ in range(3):  # the pool keeps its connections between reads
                response = client.get("/people/employee:REAL1/certification", headers=headers)
                assert response.status_code == 200, response.text
                assert (response.json()["status"], response.json()["compliant"]) == (
                    "certified",
                    True,
                )
            assert (
                client.get("/people/employee:NOBODY/certification", headers=headers).status_code
                == 404
            )
            reader.active = False
            session.add(reader)
            session.commit()
            assert (
                client.get("/people/employee:REAL1/certification", headers=headers).status_code
                == 401
            )
