"""Response shapes of the xAPI routes (statements themselves stay plain JSON, as received)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_STATEMENT: dict[str, Any] = {
    "id": "9e13cefd-53d3-4eac-b5ed-2cf6693903bb",
    "actor": {"objectType": "Agent", "mbox": "mailto:anna.jansen@havenstad.nl"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
    "object": {
        "objectType": "Activity",
        "id": "https://lms.havenstad.nl/xapi/activities/ai-basis-toets",
        "definition": {"name": {"nl-NL": "AI-basistoets"}},
    },
    "result": {"success": True, "score": {"scaled": 0.85}},
    "timestamp": "2026-05-04T10:15:00Z",
}


class About(BaseModel):
    """The About resource (xAPI Communication 2.8)."""

    version: list[str] = Field(examples=[["1.0.3", "2.0.0"]])
    extensions: dict[str, Any] = Field(default_factory=dict)


class StatementResult(BaseModel):
    """A page of statements (xAPI Data 2.5); `more` is the relative IRL of the next page."""

    statements: list[dict[str, Any]]
    more: str = ""


class UnmappedActivity(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    activity_id: str
    statement_count: int
    first_seen_at: datetime
    last_seen_at: datetime
