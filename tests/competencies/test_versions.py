"""Models and versions: drafts, publishing, immutability, copy-to-draft, diff, publishing rules."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlmodel import select

from app.competencies.models import CompetencyModelVersion, VersionStatus
from tests.competencies.factories import (
    create_from_template,
    get_content,
    make_role,
    put_content,
    version_url,
)
from tests.factories import auth_headers


@pytest.fixture
def rw(db, app):
    return auth_headers(db, app, "competencies:read", "competencies:write")


def test_create_model_has_default_draft(client, rw):
    response = client.post("/competency-models", json={"key": "ai", "name": "AI"}, headers=rw)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["status"] == "draft" and body["version"]["number"] == 1
    assert body["model"]["current_version"] is None
    content = get_content(client, rw, version_url(body))
    assert [d["key"] for d in content["domains"]] == [
        "knowledge",
        "application",
        "risk-compliance",
        "attitude",
        "ethics",
    ]
    assert [lv["key"] for lv in content["levels"]] == ["basic", "advanced", "expert"]
    assert [t["validity_months"] for t in content["tiers"]] == [24, 24, 24]


def test_duplicate_model_key_409(client, rw):
    assert (
        client.post("/competency-models", json={"key": "x", "name": "X"}, headers=rw).status_code
        == 201
    )
    response = client.post("/competency-models", json={"key": "x", "name": "X"}, headers=rw)
    assert response.status_code == 409


@pytest.mark.parametrize("template", ["en", "nl"])
def test_template_loads_and_publishes_cleanly(client, rw, template):
    created = create_from_template(client, rw, template=template)
    content = get_content(client, rw, version_url(created))
    assert 12 <= len(content["competencies"]) <= 20
    assert {c["domain"] for c in content["competencies"]} == {d["key"] for d in content["domains"]}
    assert len(content["domains"]) == 5
    assert all(template in c["title"] for c in content["competencies"])
    assert all(len(c["level_descriptors"]) == 3 for c in content["competencies"])
    assert [
        (t["key"], t["validity_months"], t["recertification_window_days"], t["grace_period_days"])
        for t in content["tiers"]
    ] == [
        ("basic", 24, 90, 30),
        ("advanced", 24, 90, 30),
        ("expert", 24, 90, 30),
    ]
    response = client.post(f"{version_url(created)}/publish", headers=rw)
    assert response.status_code == 200, response.text
    assert response.json()["version"]["status"] == "published"
    assert response.json()["warnings"] == []


def test_dutch_template_uses_the_practice_guide_words(client, rw):
    created = create_from_template(client, rw, template="nl")
    content = get_content(client, rw, version_url(created))
    assert [d["title"]["nl"] for d in content["domains"]] == [
        "Kennis",
        "Toepassing",
        "Risico en compliance",
        "Houding",
        "Ethiek",
    ]
    assert [lv["title"]["nl"] for lv in content["levels"]] == ["Basis", "Gevorderd", "Expert"]


def test_published_version_is_immutable_409(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    assert client.post(f"{url}/publish", headers=rw).status_code == 200
    assert put_content(client, rw, url, content).status_code == 409
    competency = copy.deepcopy(content["competencies"][0])
    response = client.put(f"{url}/competencies/{competency['key']}", json=competency, headers=rw)
    assert response.status_code == 409
    assert response.json()["type"].endswith("version-not-draft")
    tier = content["tiers"][0]
    assert client.put(f"{url}/tiers/basic", json=tier, headers=rw).status_code == 409
    mapping = {
        "activity_id": "https://lms.example/a",
        "competency": content["competencies"][0]["key"],
        "level": "basic",
        "assessment_form": "knowledge_test",
        "pass_rule": "success",
    }
    assert client.post(f"{url}/activity-mappings", json=mapping, headers=rw).status_code == 409
    assert client.delete(f"{url}/competencies/{competency['key']}", headers=rw).status_code == 409
    assert client.post(f"{url}/publish", headers=rw).status_code == 409
    assert get_content(client, rw, url) == content


def test_copy_to_draft_then_publish_keeps_one_current(client, rw, db):
    created = create_from_template(client, rw)
    url = version_url(created)
    assert client.post(f"{url}/publish", headers=rw).status_code == 200
    response = client.post(f"{url}/copy", json={"notes": "2027 update"}, headers=rw)
    assert response.status_code == 201, response.text
    draft = response.json()
    assert (draft["number"], draft["status"], draft["based_on_number"]) == (2, "draft", 1)
    assert get_content(client, rw, version_url(created, 2)) == get_content(client, rw, url)
    assert client.post(f"{url}/copy", headers=rw).status_code == 409  # one draft at a time
    assert client.post(f"{version_url(created, 2)}/publish", headers=rw).status_code == 200
    statuses = db.exec(
        select(CompetencyModelVersion.number, CompetencyModelVersion.status)
        .where(CompetencyModelVersion.model_id == uuid.UUID(created["model"]["id"]))
        .order_by(CompetencyModelVersion.number)
    ).all()
    assert [(n, str(s)) for n, s in statuses] == [(1, "retired"), (2, "published")]
    model = client.get(f"/competency-models/{created['model']['id']}", headers=rw).json()
    assert model["current_version"] == 2
    assert all(s != VersionStatus.draft for _, s in statuses)


def test_edit_draft_with_stale_if_match_412(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    response = client.get(url, headers=rw)
    etag = response.headers["etag"]
    content = response.json()["content"]
    ok = client.put(f"{url}/content", json=content, headers={**rw, "If-Match": etag})
    assert ok.status_code == 200
    stale = client.put(f"{url}/content", json=content, headers={**rw, "If-Match": etag})
    assert stale.status_code == 412


def test_content_with_bad_references_422_changes_nothing(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    before = get_content(client, rw, url)
    content = copy.deepcopy(before)
    content["competencies"][0]["domain"] = "nope"
    content["tiers"][0]["requirements"].append(
        {"competency": "ghost", "min_level": "basic", "accepted_forms": ["knowledge_test"]}
    )
    content["role_tiers"] = [{"role": "no-such-role", "tier": "basic", "reason": "x"}]
    response = put_content(client, rw, url, content)
    assert response.status_code == 422
    types = sorted(e["type"] for e in response.json()["errors"])
    assert types == ["unknown-competency", "unknown-domain", "unknown-role"]
    assert get_content(client, rw, url) == before


def test_course_completion_is_not_an_accepted_assessment_form(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    content["tiers"][0]["requirements"][0]["accepted_forms"] = ["course_completion"]
    assert put_content(client, rw, url, content).status_code == 422


def _publish_errors(client, rw, url):
    response = client.post(f"{url}/publish", headers=rw)
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("publishing-rules")
    return {(e["type"], e["item"]) for e in response.json()["errors"]}


def test_publish_rule_tier_above_basic_only_knowledge_tests(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    for requirement in content["tiers"][1]["requirements"]:
        requirement["accepted_forms"] = ["knowledge_test"]
    assert put_content(client, rw, url, content).status_code == 200
    assert _publish_errors(client, rw, url) == {("tier-knowledge-only", "advanced")}


def test_publish_rule_tier_without_validity(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    content["tiers"][2]["validity_months"] = None
    assert put_content(client, rw, url, content).status_code == 200
    assert _publish_errors(client, rw, url) == {("tier-without-validity", "expert")}


def test_publish_rule_requirement_at_unknown_level(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    requirement = content["tiers"][0]["requirements"][0]
    requirement["min_level"] = "master"
    assert put_content(client, rw, url, content).status_code == 200
    errors = _publish_errors(client, rw, url)
    assert errors == {("unknown-level", f"basic/{requirement['competency']}")}
    assert client.get(url, headers=rw).json()["status"] == "draft"


def test_publish_warns_about_unused_competencies(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    content["competencies"].append(
        {"key": "deepfakes", "domain": "knowledge", "title": {"en": "Deepfakes"}}
    )
    assert put_content(client, rw, url, content).status_code == 200
    response = client.post(f"{url}/publish", headers=rw)
    assert response.status_code == 200
    assert response.json()["warnings"] == [
        {
            "code": "competency-unused",
            "message": "No tier or role requires competency 'deepfakes'.",
            "item": "deepfakes",
        }
    ]


def test_diff_lists_added_removed_changed(client, rw, db):
    created = create_from_template(client, rw)
    url = version_url(created)
    client.post(f"{url}/publish", headers=rw)
    client.post(f"{url}/copy", headers=rw)
    url2 = version_url(created, 2)
    content = get_content(client, rw, url2)
    content["competencies"][0]["title"]["en"] = "What GenAI can and cannot do"
    content["competencies"].append(
        {"key": "deepfakes", "domain": "knowledge", "title": {"en": "Deepfakes"}}
    )
    removed = content["tiers"][0]["requirements"].pop()
    content["tiers"][2]["validity_months"] = 12
    assert put_content(client, rw, url2, content).status_code == 200
    response = client.get(
        f"/competency-models/{created['model']['id']}/versions/1/diff/2", headers=rw
    )
    assert response.status_code == 200, response.text
    diff = response.json()
    first = content["competencies"][0]["key"]
    assert {(e["kind"], e["key"]) for e in diff["added"]} == {("competency", "deepfakes")}
    assert {(e["kind"], e["key"]) for e in diff["removed"]} == {
        ("requirement", f"basic/{removed['competency']}")
    }
    assert {(e["kind"], e["key"], tuple(e["fields"])) for e in diff["changed"]} == {
        ("competency", first, ("title",)),
        ("tier", "expert", ("validity_months",)),
    }


def test_versions_list_and_not_found(client, rw):
    created = create_from_template(client, rw)
    model_id = created["model"]["id"]
    response = client.get(f"/competency-models/{model_id}/versions", headers=rw)
    assert [v["number"] for v in response.json()] == [1]
    assert client.get(f"/competency-models/{model_id}/versions/9", headers=rw).status_code == 404
    listing = client.get("/competency-models", headers=rw).json()
    assert model_id in {m["id"] for m in listing["items"]}


def test_role_tiers_are_kept_with_reason(client, rw, db):
    role = make_role(db, key="recruiter")
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    content["role_tiers"] = [
        {"role": role.key, "tier": "advanced", "reason": "CV screening", "due_days": 183}
    ]
    response = put_content(client, rw, url, content)
    assert response.status_code == 200, response.text
    assert response.json()["content"]["role_tiers"] == [
        {
            "role": "recruiter",
            "job_family": None,
            "tier": "advanced",
            "reason": "CV screening",
            "due_days": 183,
        }
    ]


def test_higher_template_tiers_imply_the_lower_ones(client, rw):
    created = create_from_template(client, rw)
    body = client.get(version_url(created), headers=rw).json()
    assert body["tier_implies"] == {
        "basic": [],
        "advanced": ["basic"],
        "expert": ["basic", "advanced"],
    }


def test_tier_does_not_imply_a_lower_one_it_does_not_cover(client, rw):
    created = create_from_template(client, rw)
    url = version_url(created)
    content = get_content(client, rw, url)
    content["tiers"][1]["requirements"] = content["tiers"][1]["requirements"][1:]
    assert put_content(client, rw, url, content).status_code == 200
    assert client.get(url, headers=rw).json()["tier_implies"]["advanced"] == []
