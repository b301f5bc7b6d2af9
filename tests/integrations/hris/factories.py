"""An HR system for the HR integration tests: field paths, employee records and a paged
REST listing served over httpx.MockTransport."""

from __future__ import annotations

import threading

import httpx

PATHS = {
    "employee_number": "id",
    "given_name": "name.first",
    "family_name": "name.last",
    "email": "work_email",
    "org_unit": "department.code",
    "job_code": "job.code",
}


def employee(number: str, **extra) -> dict:
    return {
        "id": number,
        "name": {"first": "Piet", "last": f"Pietersen{number}"},
        "work_email": f"{number.lower()}@example.org",
        "department": {"code": "team-kcc"},
        "job": {"code": "KCM"},
        **extra,
    }


class FakeHR:
    """An HR REST listing over httpx.MockTransport: three pages by next link, optional failure."""

    def __init__(self, people: list[dict], page_size: int = 2, fail_on_page: int | None = None):
        self.people, self.page_size, self.fail_on_page = people, page_size, fail_on_page
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        page = int(request.url.params.get("page", "1"))
        if page == self.fail_on_page:
            return httpx.Response(503)
        start = (page - 1) * self.page_size
        items = self.people[start : start + self.page_size]
        more = start + self.page_size < len(self.people)
        return httpx.Response(
            200,
            json={
                "employees": items,
                "links": {"next": f"/api/employees?page={page + 1}" if more else None},
                "complete": True,
            },
        )


class HeldHR:
    """An HR system whose answers wait until `release` is set: for what happens while a
    pull waits on it. `reached` is set once the first request has arrived."""

    def __init__(self, hr: FakeHR) -> None:
        self.hr = hr
        self.reached, self.release = threading.Event(), threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.reached.set()
        self.release.wait(10)
        return self.hr(request)
