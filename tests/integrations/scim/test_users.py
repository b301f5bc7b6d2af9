"""SCIM 2.0 Users (RFC 7644) through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.factories import auth_headers
from tests.org.factories import make_org

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXT = "urn:aidiploma:params:scim:schemas:extension:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def scim(client, db, app):
    client.headers.update(auth_headers(db, app, "scim"))
    client.headers["Content-Type"] = "application/scim+json"
    return client


def user(number: str, **extra) -> dict:
    body = {
        "schemas": [CORE, ENT],
        "userName": f"user{number}@example.org",
        "externalId": f"ext-{number}",
        "name": {"givenName": "Anna", "familyName": f"Jansen{number}"},
        "displayName": f"Anna Jansen {number}",
        "emails": [{"value": f"user{number}@example.org", "type": "work", "primary": True}],
        "active": True,
        ENT: {"employeeNumber": number, "department": "team-kcc"},
    }
    body.update(extra)
    return body


def create(scim, number: str, **extra) -> dict:
    response = scim.post("/scim/v2/Users", json=user(number, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def patch(scim, user_id, *operations, **headers):
    return scim.patch(
        f"/scim/v2/Users/{user_id}",
        json={"schemas": [PATCH], "Operations": list(operations)},
        headers=headers,
    )


def test_create_get_and_meta_rfc7644_3_3(scim, db):
    """RFC 7644 3.3: 201 with Location, ETag and meta.version; the person exists in the org."""
    make_org(db)
    created = create(scim, "S001")
    assert created["meta"]["resourceType"] == "User"
    assert created["userName"] == "userS001@example.org"
    assert created[ENT]["employeeNumber"] == "S001"
    got = scim.get(f"/scim/v2/Users/{created['id']}")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/scim+json")
    assert got.headers["etag"] == created["meta"]["version"]
    person = scim.get("/people/employee:S001", headers=auth_headers(db, scim.app, "org:read"))
    assert person.json()["org_unit"] == "team-kcc"


def test_uniqueness_409_rfc7644_3_3(scim, db):
    """RFC 7644 3.3: a duplicate userName (any case) or externalId is 409 uniqueness."""
    create(scim, "S001")
    dup = user("S002", userName="USERS001@example.org")
    response = scim.post("/scim/v2/Users", json=dup)
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert response.json()["schemas"] == [ERROR]
    assert response.json()["status"] == "409"
    response = scim.post("/scim/v2/Users", json=user("S003", externalId="ext-S001"))
    assert response.json()["scimType"] == "uniqueness"


def test_missing_username_400(scim):
    body = user("S001")
    del body["userName"]
    response = scim.post("/scim/v2/Users", json=body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_put_replaces_and_if_match_412_rfc7644_3_14(scim):
    """RFC 7644 3.5.1 and 3.14: PUT replaces; a stale If-Match is 412, a current one works."""
    created = create(scim, "S001")
    body = user("S001", displayName="Renamed")
    del body["externalId"]
    stale = scim.put(f"/scim/v2/Users/{created['id']}", json=body, headers={"If-Match": 'W/"0.0"'})
    assert stale.status_code == 412
    assert stale.json()["schemas"] == [ERROR]
    ok = scim.put(
        f"/scim/v2/Users/{created['id']}",
        json=body,
        headers={"If-Match": created["meta"]["version"]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["displayName"] == "Renamed"
    assert "externalId" not in ok.json()
    assert ok.json()["meta"]["version"] != created["meta"]["version"]
    not_modified = scim.get(
        f"/scim/v2/Users/{created['id']}", headers={"If-None-Match": ok.json()["meta"]["version"]}
    )
    assert not_modified.status_code == 304


def test_patch_add_replace_remove_with_value_filter_rfc7644_3_5_2(scim):
    """RFC 7644 3.5.2.1-3: add, replace, remove, including emails[type eq "work"].value."""
    created = create(scim, "S001")
    uid = created["id"]
    r = patch(
        scim,
        uid,
        {"op": "add", "path": "emails", "value": [{"value": "h@home.org", "type": "home"}]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["emails"]) == 2
    r = patch(
        scim,
        uid,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.org"},
    )
    work = [e for e in r.json()["emails"] if e["type"] == "work"]
    assert work[0]["value"] == "new@example.org"
    r = patch(scim, uid, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert [e["type"] for e in r.json()["emails"]] == ["work"]
    r = patch(
        scim, uid, {"op": "Replace", "value": {"displayName": "Via no path", "active": "False"}}
    )
    assert r.json()["displayName"] == "Via no path"
    assert r.json()["active"] is False
    r = patch(scim, uid, {"op": "remove", "path": "name.familyName"})
    assert "familyName" not in r.json()["name"]
    r = patch(scim, uid, {"op": "replace", "path": f"{ENT}:costCenter", "value": "CC-9"})
    assert r.json()[ENT]["costCenter"] == "CC-9"
    r = patch(scim, uid, {"op": "remove"})
    assert r.status_code == 400
    assert r.json()["scimType"] == "noTarget"
    r = patch(scim, uid, {"op": "replace", "path": "emails[type eq]", "value": "x"})
    assert r.json()["scimType"] == "invalidPath"


def test_manager_as_value_in_a_later_patch_and_before_the_manager_exists(scim, db, app):
    """Entra ID sends manager as a plain id in a separate PATCH; an employee number of a
    manager not yet provisioned is resolved once that manager arrives."""
    boss = create(scim, "B001")
    worker = create(scim, "W001")
    r = patch(scim, worker["id"], {"op": "Add", "path": f"{ENT}:manager", "value": boss["id"]})
    assert r.status_code == 200, r.text
    assert r.json()[ENT]["manager"]["value"] == boss["id"]
    org = auth_headers(db, app, "org:read")
    assert scim.get("/people/employee:W001", headers=org).json()["manager"] == "B001"
    early = create(scim, "W002", **{ENT: {"employeeNumber": "W002", "manager": {"value": "B002"}}})
    assert scim.get("/people/employee:W002", headers=org).json()["manager"] is None
    create(scim, "B002")
    assert scim.get("/people/employee:W002", headers=org).json()["manager"] == "B002"
    assert early["id"]


def test_delete_deactivates_and_keeps_history_rfc7644_3_6(scim, db, app):
    created = create(scim, "S001")
    assert scim.delete(f"/scim/v2/Users/{created['id']}").status_code == 204
    assert scim.get(f"/scim/v2/Users/{created['id']}").status_code == 404
    person = scim.get("/people/employee:S001", headers=auth_headers(db, app, "org:read")).json()
    assert person["active"] is False


def _ids(scim, filter_text, **params):
    response = scim.get("/scim/v2/Users", params={"filter": filter_text, **params})
    assert response.status_code == 200, response.text
    return sorted(r[ENT]["employeeNumber"] for r in response.json()["Resources"])


def test_filter_grammar_and_precedence_rfc7644_3_4_2_2(scim):
    """Operators, attributes, and/or/not with RFC precedence (not > and > or), parentheses."""
    create(
        scim,
        "A1",
        title="Adviseur",
        **{ENT: {"employeeNumber": "A1", "department": "kcc", "costCenter": "100"}},
    )
    create(scim, "A2", title="Teamleider", **{ENT: {"employeeNumber": "A2", "department": "kcc"}})
    create(scim, "B1", active=False, **{ENT: {"employeeNumber": "B1", "department": "sd"}})
    assert _ids(scim, 'userName eq "USERA1@example.org"') == ["A1"]
    assert _ids(scim, 'userName ne "userA1@example.org"') == ["A2", "B1"]
    assert _ids(scim, 'userName sw "usera"') == ["A1", "A2"]
    assert _ids(scim, 'userName ew "b1@example.org"') == ["B1"]
    assert _ids(scim, 'name.familyName co "jansena"') == ["A1", "A2"]
    assert _ids(scim, "title pr") == ["A1", "A2"]
    assert _ids(scim, "active eq false") == ["B1"]
    assert _ids(scim, 'externalId eq "ext-A2"') == ["A2"]
    assert _ids(scim, 'emails co "b1@"') == ["B1"]
    assert _ids(scim, 'emails[type eq "work" and value sw "usera2"]') == ["A2"]
    assert _ids(scim, f'{ENT}:department eq "kcc"') == ["A1", "A2"]
    assert _ids(
        scim, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr"
    ) == ["A1"]
    assert _ids(scim, 'employeeNumber gt "A1"') == ["A2", "B1"]
    assert _ids(scim, 'employeeNumber le "A2"') == ["A1", "A2"]
    assert _ids(scim, 'meta.lastModified ge "2000-01-01T00:00:00Z"') == ["A1", "A2", "B1"]
    assert _ids(scim, 'meta.lastModified lt "2000-01-01T00:00:00Z"') == []
    # and binds tighter than or: B1 or (A1 and A2) -> only B1
    assert _ids(
        scim, 'userName sw "userb" or employeeNumber eq "A1" and employeeNumber eq "A2"'
    ) == ["B1"]
    assert _ids(scim, '(userName sw "userb" or employeeNumber eq "A1") and active eq false') == [
        "B1"
    ]
    assert _ids(scim, 'not (department eq "kcc") and active eq false') == ["B1"]
    assert _ids(scim, "not (title pr)") == ["B1"]


@pytest.mark.parametrize(
    "bad",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'userName eq "a" and',
        "active gt true",
        'nosuch eq "a"',
        'userName eq "a" )',
        'emails[type eq "work"',
        "(" * 300 + 'userName eq "a"' + ")" * 300,  # deeper than the parser recurses
    ],
)
def test_bad_filters_400_invalid_filter_rfc7644_3_4_2_2(scim, bad):
    response = scim.get("/scim/v2/Users", params={"filter": bad})
    assert response.status_code == 400, bad
    assert response.json()["scimType"] == "invalidFilter"
    assert response.json()["schemas"] == [ERROR]


def test_paging_sorting_and_attributes_rfc7644_3_4_2_3_4(scim):
    for number in ("C3", "C1", "C2"):
        create(scim, number)
    body = scim.get(
        "/scim/v2/Users", params={"sortBy": "userName", "startIndex": 2, "count": 1}
    ).json()
    assert body["totalResults"] == 3
    assert body["startIndex"] == 2 and body["itemsPerPage"] == 1
    assert body["Resources"][0]["userName"] == "userC2@example.org"
    down = scim.get(
        "/scim/v2/Users", params={"sortBy": "userName", "sortOrder": "descending"}
    ).json()
    assert down["Resources"][0]["userName"] == "userC3@example.org"
    only = scim.get("/scim/v2/Users", params={"attributes": "userName"}).json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get("/scim/v2/Users", params={"excludedAttributes": "emails"}).json()
    assert "emails" not in without["Resources"][0]


def test_discovery_endpoints_rfc7643_5_6_7(scim):
    spc = scim.get("/scim/v2/ServiceProviderConfig").json()
    assert spc["patch"]["supported"] and spc["filter"]["supported"] and spc["etag"]["supported"]
    assert spc["bulk"]["supported"] is False
    types = scim.get("/scim/v2/ResourceTypes").json()
    assert [t["id"] for t in types["Resources"]] == ["User"]
    schemas = scim.get("/scim/v2/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {CORE, ENT, EXT}
    assert scim.get(f"/scim/v2/Schemas/{ENT}").json()["name"] == "EnterpriseUser"
    assert scim.get("/scim/v2/Schemas/urn:nope").status_code == 404


def test_auth_errors_are_scim_errors(client, db, app):
    response = client.get("/scim/v2/Users")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["schemas"] == [ERROR]
    response = client.get("/scim/v2/Users", headers=auth_headers(db, app, "org:read"))
    assert response.status_code == 403
    assert response.json()["status"] == "403"


def test_job_code_maps_to_role_and_unmapped_is_reported(scim, db, app):
    make_org(db)
    hris = auth_headers(db, app, "hris:write")
    put = scim.put(
        "/integrations/hris/mappings",
        json={"kind": "role", "source_value": "JC-KCM", "target_key": "klantcontactmedewerker"},
        headers={**hris, "Content-Type": "application/json"},
    )
    assert put.status_code == 200, put.text
    create(scim, "R1", **{EXT: {"jobCode": "JC-KCM"}})
    create(scim, "R2", **{EXT: {"jobCode": "JC-UNKNOWN"}})
    org = auth_headers(db, app, "org:read")
    roles = [r["role"] for r in scim.get("/people/employee:R1", headers=org).json()["roles"]]
    assert roles == ["klantcontactmedewerker"]
    unmapped = scim.get("/integrations/hris/unmapped", headers=hris).json()["items"]
    assert {(u["kind"], u["value"]) for u in unmapped} == {("role", "JC-UNKNOWN")}


def test_a_long_flat_filter_is_answered(scim):
    """As many comparisons as 2,000 characters hold, joined by and: no recursion limit."""
    long = " and ".join(["id pr"] * 190)
    assert scim.get("/scim/v2/Users", params={"filter": long}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": 5},
        {"schemas": [SEARCH], "startIndex": 2**70},
        {"schemas": [SEARCH], "count": 2**70},
    ],
)
def test_search_body_with_wrong_types_or_huge_numbers_400(scim, body):
    response = scim.post("/scim/v2/Users/.search", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["schemas"] == [ERROR]


def test_huge_start_index_query_400(scim):
    response = scim.get("/scim/v2/Users", params={"startIndex": 2**70})
    assert response.status_code == 400, response.text
