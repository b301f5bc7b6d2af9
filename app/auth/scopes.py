"""Every scope the API knows, in one place. `admin` grants all of them.

Each route declares the one scope it needs with `require(...)` from
app.auth.dependencies; a test walks every route to prove it.
"""

from __future__ import annotations

ADMIN = "admin"

SCOPES: dict[str, str] = {
    ADMIN: "Everything, including managing API clients",
    "clients:manage": "Create, change and deactivate API clients",
    "audit:read": "Read the audit trail and verify its hash chain",
    "metrics:read": "Scrape Prometheus metrics",
    "org:read": "Read org units, locations, job families, roles and people",
    "org:write": "Create and change org units, locations, job families, roles and people",
    "registry:read": "Read the AI-use register: AI systems, processes, role links, intake",
    "registry:write": "Change the AI-use register and triage tool-use intake",
    "intake:write": "Declare an AI tool in use (employees, managers, service desks)",
    "competencies:read": "Read competency models, tiers, requirements and mappings",
    "competencies:write": "Edit and publish competency models",
    "evidence:read": "Read evidence records",
    "evidence:write": "Record and void evidence (assessors)",
    "certifications:read": "Read certification status, history and gaps",
    "certifications:write": "Revoke, suspend, reinstate and award on alternative evidence",
    "evaluations:run": "Start bulk re-evaluation jobs",
    "xapi:read": "Read xAPI statements (LRS read)",
    "xapi:write": "Send xAPI statements and SCORM results (LRS write)",
    "scim": "SCIM 2.0 provisioning of users",
    "hris:write": "Push HR events and manage HR mappings",
    "webhooks:manage": "Manage webhook subscriptions and deliveries",
    "rollout:read": "Read programmes, phases, progress and feedback summaries",
    "rollout:write": "Manage programmes and phases, record feedback",
    "reports:read": "Organisation-wide reports for HR, the board and risk & compliance",
    "reports:team": "A line manager's report about their own people only",
    "reports:aggregate": "Aggregated reports only, small groups suppressed (works council)",
    "reports:manage": "Manage report schedules per audience (the reporting rhythm)",
}


def is_known(scope: str) -> bool:
    return scope in SCOPES


def grants(held: frozenset[str], needed: str) -> bool:
    """Whether a set of held scopes grants `needed`."""
    return ADMIN in held or needed in held
