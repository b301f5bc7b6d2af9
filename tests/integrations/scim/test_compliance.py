"""The SCIM server checked by a third-party compliance checker, scim2-tester (RFC 7643, RFC 7644).

scim2-client ships an httpx2 engine; the project pins httpx, whose Client (and so FastAPI's
TestClient) has the same interface, so a small adapter runs the checker in-process against
the app, inside the test's rolled-back transaction, on both databases.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_client.errors import RequestNetworkException
from scim2_tester import Status, check_server

from tests.factories import auth_headers

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
EXT = "urn:aidiploma:params:scim:schemas:extension:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# Statuses that say the server broke a MUST (or worse); anything else is compliant or optional.
FAILURES = {Status.ERROR, Status.CRITICAL}


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client over an httpx.Client, as its httpx2 engine does over an httpx2.Client."""

    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (
            url.scheme == base.scheme
            and url.host == base.host
            and url.raw_path.startswith(base.raw_path)
        )

    def _parse_json(self, response: RawResponse) -> Any:
        return response.json()  # type: ignore[attr-defined]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            error = RequestNetworkException()
            error.add_note(str(exc))
            raise error from exc


@pytest.fixture
def scim_checker(client, db, app) -> HttpxSCIMClient:
    # A second TestClient on the same app (its lifespan already runs through `client`), so
    # the SCIM base URL can carry the /scim/v2 path the checker resolves endpoints against.
    http = TestClient(app, base_url="http://testserver/scim/v2")
    http.headers.update(auth_headers(db, app, "scim"))
    return HttpxSCIMClient(http)


def _appended(result: Any) -> bool:
    """scim2-tester 0.5 first adds a whole extension (roles included), then `add`s roles on the
    same user and expects the list to equal the new value alone. RFC 7644 3.5.2.1 says an add
    to a multi-valued attribute adds the values to those present, which is what the server
    does (test_patch_add_to_multi_valued_appends below); only that exact outcome is excused."""
    data = result.data if isinstance(result.data, dict) else {}
    expected, actual = data.get("expected"), data.get("modify_actual", data.get("actual"))
    return (
        result.title == "check_add_attribute"
        and isinstance(expected, list)
        and isinstance(actual, list)
        and len(actual) > len(expected)
        and actual[-len(expected) :] == expected
    )


def test_scim2_tester_finds_no_failures_rfc7643_rfc7644(scim_checker):
    """RFC 7643 5-7 discovery and RFC 7644 3.3-3.6 CRUD, PATCH and .search on Users, as declared
    in ServiceProviderConfig (no bulk, no changePassword: the checker skips those)."""
    results = check_server(scim_checker)
    failures = [
        f"{result.title} [{result.status.name}]: {result.reason}"
        for result in results
        if result.status in FAILURES and not _appended(result)
    ]
    assert results, "the checker ran no check"
    assert not failures, "\n".join(failures)


def test_patch_add_to_multi_valued_appends_rfc7644_3_5_2_1(scim_checker):
    """RFC 7644 3.5.2.1: `add` on a multi-valued attribute adds the new values to the old."""
    http = scim_checker.client
    created = http.post(
        "/Users",
        json={"schemas": [CORE, EXT], "userName": "roles@example.org", EXT: {"roles": ["a"]}},
    )
    assert created.status_code == 201, created.text
    patched = http.patch(
        f"/Users/{created.json()['id']}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": f"{EXT}:roles", "value": ["b"]}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()[EXT]["roles"] == ["a", "b"]


def test_get_with_attributes_keeps_etag_rfc7644_3_4_2_5(scim_checker):
    """RFC 7644 3.4.2.5 and 3.14: attributes=userName leaves meta out; the ETag header stays."""
    http = scim_checker.client
    created = http.post("/Users", json={"schemas": [CORE], "userName": "etag@example.org"}).json()
    got = http.get(f"/Users/{created['id']}", params={"attributes": "userName"})
    assert got.status_code == 200
    assert set(got.json()) == {"schemas", "id", "userName"}
    assert got.headers["etag"] == created["meta"]["version"]


@pytest.mark.parametrize("path", ["/.search", "/Users/.search"])
def test_search_with_post_rfc7644_3_4_3(scim_checker, path):
    """RFC 7644 3.4.3: a SearchRequest body filters, pages and projects like the query string."""
    http = scim_checker.client
    for name in ("s1", "s2", "other"):
        assert (
            http.post(
                "/Users", json={"schemas": [CORE], "userName": f"{name}@example.org"}
            ).status_code
            == 201
        )
    body = {
        "schemas": [SEARCH],
        "filter": 'userName sw "s"',
        "sortBy": "userName",
        "sortOrder": "descending",
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    found = http.post(path, json=body)
    assert found.status_code == 200, found.text
    listed = found.json()
    assert listed["totalResults"] == 2
    assert [r["userName"] for r in listed["Resources"]] == ["s2@example.org", "s1@example.org"]
    assert all("meta" not in r for r in listed["Resources"])


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [SEARCH], "filter": "userName xx 1"}, "invalidFilter"),
        ({"schemas": [SEARCH], "count": "ten"}, "invalidValue"),
        ({"schemas": ["urn:other"]}, "invalidSyntax"),
        ({"schemas": [SEARCH], "attributes": 5}, "invalidValue"),
    ],
)
def test_search_bad_request_400_rfc7644_3_4_3(scim_checker, body, scim_type):
    """RFC 7644 3.12: a bad SearchRequest is a 400 SCIM error with its scimType."""
    response = scim_checker.client.post("/Users/.search", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == scim_type
