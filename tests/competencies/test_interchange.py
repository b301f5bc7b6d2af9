"""CASE 1.1 export/import (1EdTech CASE 1.1 CFPackage) and the plain JSON document."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.competencies.case import CFPackage
from app.competencies.schemas import ModelDocument
from tests.competencies.factories import create_from_template, get_content, version_url
from tests.factories import auth_headers

# Identity and time of the export, not its content.
VOLATILE = {"identifier", "uri", "lastChangeDateTime", "rubricId", "rubricCriterionId"}


@pytest.fixture
def rw(db, app):
    return auth_headers(db, app, "competencies:read", "competencies:write")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _export(client, rw, url, language="en"):
    response = client.get(f"{url}/case", params={"language": language}, headers=rw)
    assert response.status_code == 200, response.text
    return response.json()


def test_case_export_validates_against_the_cfpackage_schema(client, rw):
    """CASE 1.1 CFPackage: CFDocument, CFItems, CFAssociations, CFRubrics with required fields."""
    created = create_from_template(client, rw)
    package = _export(client, rw, version_url(created))
    CFPackage.model_validate(package)
    assert package["CFDocument"]["caseVersion"] == "1.1"
    for item in package["CFItems"]:
        assert {"identifier", "uri", "fullStatement", "lastChangeDateTime"} <= item.keys()
    types = {i["CFItemType"] for i in package["CFItems"]}
    assert types == {"Domain", "Proficiency level", "Diploma tier", "Competency"}
    identifiers = {i["identifier"] for i in package["CFItems"]} | {
        package["CFDocument"]["identifier"]
    }
    for association in package["CFAssociations"]:
        assert association["originNodeURI"]["identifier"] in identifiers
        assert association["destinationNodeURI"]["identifier"] in identifiers
    (rubric,) = package["CFRubrics"]
    assert len(rubric["CFRubricCriteria"]) == 16
    assert all(len(c["CFRubricCriterionLevels"]) == 3 for c in rubric["CFRubricCriteria"])


@pytest.mark.parametrize("language", ["en", "nl"])
def test_case_round_trip_gives_the_same_content(client, rw, language):
    created = create_from_template(client, rw, template=language)
    url = version_url(created)
    first = _export(client, rw, url, language)
    response = client.post(
        "/competency-models:import-case", params={"key": "imported"}, json=first, headers=rw
    )
    assert response.status_code == 201, response.text
    imported = response.json()
    assert imported["version"]["status"] == "draft"
    second = _export(client, rw, version_url(imported), language)
    first["CFDocument"]["extensions"]["modelKey"] = "imported"
    assert _strip(second) == _strip(first)
    original = get_content(client, rw, url)
    original["derivation_rules"] = []  # organisation rules travel only in the plain document
    assert get_content(client, rw, version_url(imported)) == original


def test_case_with_bad_references_422_lists_them(client, rw):
    created = create_from_template(client, rw)
    package = _export(client, rw, version_url(created))
    broken = copy.deepcopy(package)
    broken["CFAssociations"][0]["originNodeURI"]["identifier"] = (
        "00000000-0000-4000-8000-000000000001"
    )
    broken["CFAssociations"][-1]["destinationNodeURI"]["identifier"] = (
        "00000000-0000-4000-8000-000000000002"
    )
    broken["CFRubrics"][0]["CFRubricCriteria"][0]["CFItemURI"]["identifier"] = (
        "00000000-0000-4000-8000-000000000003"
    )
    before = client.get("/competency-models", headers=rw).json()["items"]
    response = client.post("/competency-models:import-case", json=broken, headers=rw)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"].endswith("case-bad-references")
    assert sorted(e["identifier"] for e in body["errors"]) == [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003",
    ]
    assert {e["pointer"] for e in body["errors"]} == {
        "#/CFAssociations/0/originNodeURI/identifier",
        f"#/CFAssociations/{len(broken['CFAssociations']) - 1}/destinationNodeURI/identifier",
        "#/CFRubrics/0/CFRubricCriteria/0/CFItemURI/identifier",
    }
    assert client.get("/competency-models", headers=rw).json()["items"] == before


def test_case_import_of_a_foreign_framework(client, rw):
    """A framework from another tool: untyped items in a tree, no levels or tiers."""
    doc = "d0000000-0000-4000-8000-000000000000"

    def link(identifier, title):
        return {"title": title, "identifier": identifier, "uri": f"urn:uuid:{identifier}"}

    package = {
        "CFDocument": {
            "identifier": doc,
            "uri": f"urn:uuid:{doc}",
            "creator": "Other tool",
            "title": "Digital skills",
            "lastChangeDateTime": "2026-01-01T00:00:00Z",
            "language": "en",
        },
        "CFItems": [
            {
                "identifier": "a0000000-0000-4000-8000-000000000001",
                "uri": "urn:uuid:a0000000-0000-4000-8000-000000000001",
                "fullStatement": "Uses AI tools safely",
                "humanCodingScheme": "DS.1",
                "lastChangeDateTime": "2026-01-01T00:00:00Z",
            }
        ],
        "CFAssociations": [
            {
                "identifier": "b0000000-0000-4000-8000-000000000001",
                "uri": "urn:uuid:b0000000-0000-4000-8000-000000000001",
                "associationType": "isChildOf",
                "originNodeURI": link(
                    "a0000000-0000-4000-8000-000000000001", "Uses AI tools safely"
                ),
                "destinationNodeURI": link(doc, "Digital skills"),
                "lastChangeDateTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    response = client.post("/competency-models:import-case", json=package, headers=rw)
    assert response.status_code == 201, response.text
    content = get_content(client, rw, version_url(response.json()))
    assert [(c["key"], c["domain"]) for c in content["competencies"]] == [("ds.1", "general")]
    assert [lv["key"] for lv in content["levels"]] == ["basic", "advanced", "expert"]


def test_plain_json_document_round_trip(client, rw):
    created = create_from_template(client, rw, template="nl")
    url = version_url(created)
    response = client.get(f"{url}/document", headers=rw)
    assert response.status_code == 200
    document = ModelDocument.model_validate(response.json())
    response = client.post(
        "/competency-models:import",
        params={"key": "copy"},
        json=document.model_dump(mode="json"),
        headers=rw,
    )
    assert response.status_code == 201, response.text
    copy_url = version_url(response.json())
    assert get_content(client, rw, copy_url) == get_content(client, rw, url)
    again = client.get(f"{copy_url}/document", headers=rw).json()
    assert {**again, "key": document.key} == document.model_dump(mode="json")


def test_plain_json_import_rejects_unknown_fields(client, rw):
    response = client.post(
        "/competency-models:import",
        json={"key": "x", "name": "X", "content": {"domains": [], "surprise": 1}},
        headers=rw,
    )
    assert response.status_code == 422
