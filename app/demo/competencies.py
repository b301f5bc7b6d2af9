"""Demo competency model: the Dutch or English template, published, with explicit tiers,
a role-specific requirement and activity mappings for the demo LMS (Gemeente Havenstad)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.competencies import service
from app.competencies.schemas import ModelDocument, VersionContent
from app.org.models import JobFamily, Role

MODEL_KEY = "ai-diploma-havenstad"
LMS = "https://lms.havenstad.nl/xapi/activities/"

# (job family or role, key, tier, days to reach it after starting in the role (None: the
# tier's own period), reason nl, reason en)
EXPLICIT_TIERS = [
    (
        "job_family",
        "informatie-ict",
        "advanced",
        None,
        "Beheert, koppelt en analyseert AI-systemen en de data daarin.",
        "Manages, integrates and analyses AI systems and their data.",
    ),
    (
        "role",
        "privacy-officer",
        "expert",
        120,
        "Toezichthouder op hoog-risicosystemen; adviseert over AVG en AI-verordening. "
        "Binnen vier maanden na de start in de rol.",
        "Overseer of high-risk systems; advises on the GDPR and the AI Act. Within four "
        "months of starting in the role.",
    ),
    (
        "role",
        "communicatieadviseur",
        "advanced",
        90,
        "Publiceert met AI gemaakte teksten en beelden namens de gemeente (transparantieplicht).",
        "Publishes AI-generated text and images on behalf of the municipality (transparency duty).",
    ),
]

# (role, competency, level, forms, reason nl, reason en)
ROLE_COMPETENCIES = [
    (
        "recruiter",
        "bias-recognition",
        "expert",
        ["practical_assessment", "interview"],
        "Werkt met AI-ondersteunde CV-screening (hoog risico, AI-verordening bijlage III).",
        "Works with AI-assisted CV screening (high risk, AI Act Annex III).",
    ),
]

ACTIVITY_MAPPINGS: list[dict[str, Any]] = [
    {
        "activity_id": LMS + "ai-basis-module",
        "competency": "ai-policy-tools",
        "level": "basic",
        "assessment_form": "course_completion",
        "pass_rule": "completion",
    },
    *(
        {
            "activity_id": LMS + "ai-basis-toets",
            "competency": competency,
            "level": "basic",
            "assessment_form": "knowledge_test",
            "pass_rule": "min_score",
            "min_scaled_score": 0.7,
        }
        for competency in (
            "genai-capabilities",
            "ai-policy-tools",
            "data-privacy-prompting",
            "disclosure",
            "incident-escalation",
        )
    ),
    {
        "activity_id": LMS + "prompt-lab",
        "competency": "prompting",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "min_score",
        "min_scaled_score": 0.8,
    },
    {
        "activity_id": LMS + "ai-praktijkopdracht/",
        "match": "prefix",
        "competency": "output-verification",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
    {
        "activity_id": LMS + "bias-casus-werving",
        "competency": "bias-recognition",
        "level": "advanced",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
    {
        "activity_id": LMS + "toezicht-hoog-risico",
        "competency": "human-oversight",
        "level": "expert",
        "assessment_form": "practical_assessment",
        "pass_rule": "success",
    },
    {
        "activity_id": "HS-AI-PRIVACY-01",  # a SCORM course id
        "competency": "data-privacy-prompting",
        "level": "basic",
        "assessment_form": "knowledge_test",
        "pass_rule": "min_score",
        "min_scaled_score": 0.75,
    },
]


def load(session: Session, *, language: str) -> dict[str, int]:
    """Load and publish the demo model; org-specific parts only where the demo org has them."""
    lang = "nl" if language == "nl" else "en"
    template = service.load_template(lang)
    content: dict[str, Any] = template["content"]
    families = set(session.exec(select(JobFamily.key)).all())
    roles = set(session.exec(select(Role.key).where(col(Role.active).is_(True))).all())
    content["role_tiers"] = [
        {kind: key, "tier": tier, "due_days": due_days, "reason": nl if lang == "nl" else en}
        for kind, key, tier, due_days, nl, en in EXPLICIT_TIERS
        if key in (families if kind == "job_family" else roles)
    ]
    content["role_competencies"] = [
        {
            "role": role,
            "competency": competency,
            "min_level": level,
            "accepted_forms": forms,
            "reason": nl if lang == "nl" else en,
        }
        for role, competency, level, forms, nl, en in ROLE_COMPETENCIES
        if role in roles
    ]
    content["activity_mappings"] = ACTIVITY_MAPPINGS
    document = ModelDocument(
        key=MODEL_KEY,
        name=f"{template['name']} Gemeente Havenstad",
        description=template["description"],
        content=VersionContent.model_validate(content),
    )
    _, version = service.import_document(session, document=document)
    service.publish(session, version=version)
    return {
        "competency_models": 1,
        "competencies": len(document.content.competencies),
        "diploma_tiers": len(document.content.tiers),
        "explicit_role_tiers": len(document.content.role_tiers),
        "activity_mappings": len(document.content.activity_mappings),
    }
