"""Role requirements derived from the register, explicit tiers, the matrix, activity matching."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from app.competencies import service
from app.competencies.schemas import Matrix, RoleRequirement
from app.registry.models import (
    AISystem,
    AISystemOverseer,
    Process,
    ProcessAISystem,
    RoleProcessLink,
)
from tests.competencies.factories import (
    create_from_template,
    get_content,
    make_job_family,
    make_role,
    put_content,
    version_url,
)
from tests.factories import auth_headers


@pytest.fixture
def rw(db, app):
    return auth_headers(db, app, "competencies:read", "competencies:write")


def _high_risk_process(
    db, *, name: str = "Aanvraag bijstand beoordelen"
) -> tuple[Process, AISystem]:
    system = AISystem(
        name=f"Fraudesignalering {uuid.uuid4().hex[:6]}",
        risk_class="high",
        deployment_status="restricted",
    )
    process = Process(name=f"{name} {uuid.uuid4().hex[:6]}", impact_level="high")
    db.add(system)
    db.add(process)
    db.flush()
    db.add(ProcessAISystem(process_id=process.id, ai_system_id=system.id))
    db.flush()
    return process, system


def _link(db, role, process, involvement="uses_output"):
    db.add(
        RoleProcessLink(
            role_id=role.id, process_id=process.id, involvement=involvement, state="current"
        )
    )
    db.flush()


@pytest.fixture
def org(db):
    social = make_job_family(db, key="sociaal-domein", name="Sociaal domein")
    ops = make_job_family(db, key="bedrijfsvoering", name="Bedrijfsvoering")
    return {
        "social": social,
        "ops": ops,
        "consulent": make_role(
            db, key="consulent-werk-inkomen", name="Consulent", job_family_id=social.id
        ),
        "recruiter": make_role(db, key="recruiter", name="Recruiter", job_family_id=ops.id),
        "adviser": make_role(
            db, key="beleidsadviseur", name="Beleidsadviseur", job_family_id=ops.id
        ),
        "overseer": make_role(db, key="functioneel-beheerder", name="Functioneel beheerder"),
    }


def _published(client, rw, content_change=None):
    created = create_from_template(client, rw)
    url = version_url(created)
    if content_change:
        content = get_content(client, rw, url)
        content_change(content)
        response = put_content(client, rw, url, content)
        assert response.status_code == 200, response.text
    response = client.post(f"{url}/publish", headers=rw)
    assert response.status_code == 200, response.text
    return created, response.json()


def _requirement(client, rw, role, created):
    response = client.get(
        f"/roles/{role.id}/requirement", params={"model_id": created["model"]["id"]}, headers=rw
    )
    assert response.status_code == 200, response.text
    return RoleRequirement.model_validate(response.json())


def test_requirement_derived_from_register_risk_class(client, rw, db, org):
    process, _ = _high_risk_process(db)
    _link(db, org["consulent"], process)
    created, _ = _published(client, rw)
    req = _requirement(client, rw, org["consulent"], created)
    assert (req.tier, req.source) == ("advanced", "derived")
    assert req.derived.risk_class == "high"
    assert [(r.kind, r.tier) for r in req.derived.rules_applied] == [("risk_class", "advanced")]
    assert req.derived.register_reasons
    assert any(c.min_level == "advanced" for c in req.competencies)
    # Not linked to anything: minimal -> basic.
    assert _requirement(client, rw, org["adviser"], created).tier == "basic"


def test_requirement_follows_the_register_without_editing_the_model(client, rw, db, org):
    created, _ = _published(client, rw)
    assert _requirement(client, rw, org["recruiter"], created).tier == "basic"
    process, _ = _high_risk_process(db, name="Werving en selectie")
    _link(db, org["recruiter"], process)
    assert _requirement(client, rw, org["recruiter"], created).tier == "advanced"


def test_overseer_of_high_risk_system_gets_expert(client, rw, db, org):
    _, system = _high_risk_process(db)
    db.add(AISystemOverseer(ai_system_id=system.id, role_id=org["overseer"].id))
    db.flush()
    created, _ = _published(client, rw)
    req = _requirement(client, rw, org["overseer"], created)
    assert (req.tier, req.source, req.derived.high_risk_overseer) == ("expert", "derived", True)


def test_explicit_tiers_override_derived_and_keep_reason(client, rw, db, org):
    process, _ = _high_risk_process(db)
    _link(db, org["consulent"], process)

    def change(content):
        content["role_tiers"] = [
            {"job_family": "bedrijfsvoering", "tier": "advanced", "reason": "Works with HR data"},
            {"role": "consulent-werk-inkomen", "tier": "expert", "reason": "Decides on benefits"},
        ]
        content["role_competencies"] = [
            {
                "role": "recruiter",
                "competency": "bias-recognition",
                "min_level": "expert",
                "accepted_forms": ["practical_assessment"],
                "reason": "AI-assisted CV screening",
            }
        ]

    created, _ = _published(client, rw, change)
    consulent = _requirement(client, rw, org["consulent"], created)
    assert (consulent.tier, consulent.source, consulent.reason) == (
        "expert",
        "explicit_role",
        "Decides on benefits",
    )
    assert consulent.derived.tier == "advanced"
    recruiter = _requirement(client, rw, org["recruiter"], created)
    assert (recruiter.tier, recruiter.source) == ("advanced", "explicit_job_family")
    bias = next(c for c in recruiter.competencies if c.competency == "bias-recognition")
    assert (bias.min_level, bias.sources) == ("expert", ["tier:advanced", "role"])
    assert bias.accepted_forms == ["practical_assessment"]


def test_requirement_for_unknown_role_404(client, rw):
    _published(client, rw)
    response = client.get(f"/roles/{uuid.uuid4()}/requirement", headers=rw)
    assert response.status_code == 404


def test_matrix_json_and_csv(client, rw, db, org):
    def change(content):
        content["role_tiers"] = [{"role": "recruiter", "tier": "advanced", "reason": "Screening"}]

    created, _ = _published(client, rw, change)
    url = f"/competency-models/{created['model']['id']}/matrix"
    response = client.get(url, headers=rw)
    assert response.status_code == 200, response.text
    matrix = Matrix.model_validate(response.json())
    assert len(matrix.competencies) == 16 and matrix.version == 1
    rows = {r.role_key: r for r in matrix.roles}
    recruiter = rows["recruiter"]
    assert (recruiter.tier, recruiter.source) == ("advanced", "explicit_role")
    assert recruiter.cells["output-verification"].min_level == "advanced"
    assert recruiter.cells["output-verification"].accepted_forms == [
        "practical_assessment",
        "portfolio",
    ]
    assert rows["beleidsadviseur"].cells["output-verification"].min_level == "basic"
    assert "human-oversight" not in rows["beleidsadviseur"].cells

    response = client.get(url, headers={**rw, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0][:5] == ["role_key", "role_name", "job_family", "tier", "source"]
    assert len(table[0]) == 5 + 16
    by_key = {row[0]: row for row in table[1:]}
    column = table[0].index("output-verification")
    assert by_key["recruiter"][column] == "advanced: practical_assessment|portfolio"


def test_matrix_without_published_version_404(client, rw):
    created = create_from_template(client, rw)
    response = client.get(f"/competency-models/{created['model']['id']}/matrix", headers=rw)
    assert response.status_code == 404


def test_publish_warns_about_high_impact_roles_without_requirement(client, rw, db, org):
    process, _ = _high_risk_process(db)
    _link(db, org["consulent"], process)

    def change(content):
        content["derivation_rules"] = []  # no role derives a tier any more

    _, result = _published(client, rw, change)
    assert {(w["code"], w["item"]) for w in result["warnings"]} == {
        ("high-impact-role-without-requirement", "consulent-werk-inkomen")
    }


MAPPINGS = [
    {
        "activity_id": "https://lms.havenstad.nl/xapi/activities/ai-basis-module",
        "competency": "genai-capabilities",
        "level": "basic",
        "assessment_form": "knowledge_test",
        "pass_rule": "min_score",
        "min_scaled_score": 0.7,
    },
    {
        "activity_id": "https://lms.havenstad.nl/xapi/activities/ai_praktijk/",
        "match": "prefix",
        "competency": "output-verification",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
    {
        "activity_id": "SCORM-AI-101",
        "competency": "ai-policy-tools",
        "level": "basic",
        "assessment_form": "course_completion",
        "pass_rule": "completion",
    },
]


def test_activity_mappings_exact_and_prefix_match(client, rw, db):
    created = create_from_template(client, rw)
    url = version_url(created)
    for mapping in MAPPINGS:
        response = client.post(f"{url}/activity-mappings", json=mapping, headers=rw)
        assert response.status_code == 201, response.text
    version = service.get_version(db, model_id=uuid.UUID(created["model"]["id"]), number=1)

    def matched(activity_id):
        return [
            m.competency_key
            for m in service.match_activity(db, version_id=version.id, activity_id=activity_id)
        ]

    assert matched(MAPPINGS[0]["activity_id"]) == ["genai-capabilities"]
    assert matched(MAPPINGS[0]["activity_id"] + "/extra") == []  # exact means exact
    assert matched(MAPPINGS[1]["activity_id"] + "case-3") == ["output-verification"]
    # '_' in a prefix is literal, not a LIKE wildcard.
    assert matched("https://lms.havenstad.nl/xapi/activities/aiXpraktijk/case-3") == []
    assert matched("SCORM-AI-101") == ["ai-policy-tools"]
    response = client.get(
        f"{url}/activity-mappings:match",
        params={"activity_id": MAPPINGS[1]["activity_id"] + "x"},
        headers=rw,
    )
    assert response.status_code == 200
    assert [m["competency_key"] for m in response.json()] == ["output-verification"]


def test_activity_mapping_pass_rule_needs_score(client, rw):
    created = create_from_template(client, rw)
    bad = {**MAPPINGS[0]}
    del bad["min_scaled_score"]
    response = client.post(f"{version_url(created)}/activity-mappings", json=bad, headers=rw)
    assert response.status_code == 422


def test_publish_warns_when_an_explicit_tier_is_below_the_derived_one(client, rw, db, org):
    _, system = _high_risk_process(db)
    db.add(AISystemOverseer(ai_system_id=system.id, role_id=org["overseer"].id))
    db.flush()

    def change(content):
        content["role_tiers"] = [
            {"role": "functioneel-beheerder", "tier": "basic", "reason": "Only reads dashboards"}
        ]

    created, result = _published(client, rw, change)
    assert {(w["code"], w["item"]) for w in result["warnings"]} == {
        ("explicit-tier-below-derived", "functioneel-beheerder")
    }
    req = _requirement(client, rw, org["overseer"], created)
    assert (req.tier, req.derived.tier, req.reason) == ("basic", "expert", "Only reads dashboards")
