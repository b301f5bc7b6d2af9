"""What an LMS reports about a SCORM attempt: the SCORM run-time data model elements as
name -> value pairs (SCORM 1.2 RTE 3.4, SCORM 2004 4th ed. RTE 4.2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LESSON_STATUS = {"passed", "completed", "failed", "incomplete", "browsed", "not attempted"}
COMPLETION_STATUS = {"completed", "incomplete", "not attempted", "unknown"}
SUCCESS_STATUS = {"passed", "failed", "unknown"}
SCORM12_ELEMENTS = {
    "cmi.core.lesson_status",
    "cmi.core.score.raw",
    "cmi.core.score.min",
    "cmi.core.score.max",
}
SCORM2004_ELEMENTS = {
    "cmi.completion_status",
    "cmi.success_status",
    "cmi.score.scaled",
    "cmi.score.raw",
    "cmi.score.min",
    "cmi.score.max",
}

SCORM12_EXAMPLE: dict[str, Any] = {
    "lms_id": "moodle-havenstad",
    "attempt_id": "att-20260504-0042",
    "course_id": "HS-AI-PRIVACY-01",
    "learner_id": "HS0042",
    "scorm_version": "1.2",
    "occurred_at": "2026-05-04T10:15:00Z",
    "data": {
        "cmi.core.lesson_status": "passed",
        "cmi.core.score.raw": "86",
        "cmi.core.score.min": "0",
        "cmi.core.score.max": "100",
    },
}
SCORM2004_EXAMPLE: dict[str, Any] = {
    "lms_id": "moodle-havenstad",
    "attempt_id": "att-20260505-0107",
    "course_id": "HS-AI-PRIVACY-01",
    "learner_email": "p.devries@havenstad.nl",
    "scorm_version": "2004",
    "occurred_at": "2026-05-05T14:00:00Z",
    "data": {
        "cmi.completion_status": "completed",
        "cmi.success_status": "passed",
        "cmi.score.scaled": "0.9",
    },
}


def _number(name: str, value: str | float) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, not {value!r}") from exc


class ScormResultIn(BaseModel):
    """One SCORM attempt; idempotent on (lms_id, attempt_id)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [SCORM12_EXAMPLE, SCORM2004_EXAMPLE]}
    )

    lms_id: str = Field(min_length=1, max_length=200, description="Which LMS reports this")
    attempt_id: str = Field(min_length=1, max_length=200, description="The LMS's attempt id")
    course_id: str = Field(min_length=1, max_length=1000, description="Mapped like an activity id")
    learner_id: str | None = Field(default=None, max_length=64, description="Employee number")
    learner_email: str | None = Field(default=None, max_length=320)
    scorm_version: Literal["1.2", "2004"]
    occurred_at: datetime | None = Field(default=None, description="When the attempt ended")
    data: dict[str, str | float] = Field(description="SCORM data model elements reported")

    @model_validator(mode="after")
    def _check(self) -> ScormResultIn:
        if not self.learner_id and not self.learner_email:
            raise ValueError("name the learner by learner_id (employee number) or learner_email")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a timezone offset")
        allowed = SCORM12_ELEMENTS if self.scorm_version == "1.2" else SCORM2004_ELEMENTS
        unknown = set(self.data) - allowed
        if unknown:
            raise ValueError(
                f"SCORM {self.scorm_version} has no element {sorted(unknown)[0]} here; "
                f"use {', '.join(sorted(allowed))}"
            )
        if self.scorm_version == "1.2":
            status = self.data.get("cmi.core.lesson_status")
            if status not in LESSON_STATUS:
                raise ValueError(f"cmi.core.lesson_status must be one of {sorted(LESSON_STATUS)}")
        else:
            if self.data.get("cmi.completion_status", "unknown") not in COMPLETION_STATUS:
                raise ValueError(
                    f"cmi.completion_status must be one of {sorted(COMPLETION_STATUS)}"
                )
            if self.data.get("cmi.success_status", "unknown") not in SUCCESS_STATUS:
                raise ValueError(f"cmi.success_status must be one of {sorted(SUCCESS_STATUS)}")
            if "cmi.score.scaled" in self.data:
                scaled = _number("cmi.score.scaled", self.data["cmi.score.scaled"])
                if not -1 <= scaled <= 1:
                    raise ValueError("cmi.score.scaled must lie between -1 and 1")
        for name, value in self.data.items():
            if ".score." in name:
                _number(name, value)
        return self


class ScormResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lms_id: str
    attempt_id: str
    course_id: str
    person_id: uuid.UUID | None
    passed: bool | None
    completed: bool | None
    score_scaled: float | None
    received_at: datetime
    evidence_created: int = 0
