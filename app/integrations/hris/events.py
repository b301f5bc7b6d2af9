"""HR events in: Standard Webhooks signature check, field paths per source, idempotency on
the event id. The route's single commit makes the acknowledgement follow the change."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.core import audit, clock
from app.core.errors import BadRequest, Conflict, Unauthenticated, Unprocessable
from app.integrations.hris import mapping
from app.integrations.hris.models import HrisEvent, HrisSource

TOLERANCE_SECONDS = 5 * 60  # Standard Webhooks: reject timestamps more than 5 minutes off


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`); None when any step is missing."""
    current = document
    for part in path.split(".") if path else []:
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def verify_signature(
    *, secret: str, body: bytes, msg_id: str | None, timestamp: str | None, signature: str | None
) -> None:
    """Standard Webhooks: v1 = base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))."""
    if not msg_id or not timestamp or not signature:
        raise Unauthenticated(
            "Send webhook-id, webhook-timestamp and webhook-signature.", error=None,
            slug="invalid-signature",
        )  # fmt: skip
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Unauthenticated("webhook-timestamp is not a Unix time.", error=None) from None
    now = int(clock.now().timestamp())
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise Unauthenticated(
            "webhook-timestamp is more than 5 minutes away from now (a replay?).",
            error=None, slug="stale-signature",
        )  # fmt: skip
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest())
    for candidate in signature.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise Unauthenticated(
        "The webhook signature does not verify.", error=None, slug="invalid-signature"
    )


def record_from(employee: Any, field_paths: dict[str, Any]) -> mapping.HrRecord:
    """An HrRecord of the fields the source's paths find (missing ones are left unset)."""
    if not isinstance(employee, dict):
        raise Unprocessable("The employee object is missing or not an object.")
    values: dict[str, Any] = {}
    for name, path in field_paths.items():
        value = get_path(employee, str(path))
        if value is None and get_path(employee, str(path).rsplit(".", 1)[0]) is None:
            continue
        if value is not None and name not in ("roles", "active") and not isinstance(value, str):
            value = str(value)
        values[name] = value
    if not values.get("employee_number"):
        raise Unprocessable("No employee_number at the source's path.")
    try:
        return mapping.HrRecord(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Unprocessable(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _kind(event_type: str) -> str:
    lowered = event_type.lower()
    if "terminat" in lowered or "delete" in lowered or "left" in lowered:
        return "terminated"
    if "creat" in lowered or "hire" in lowered:
        return "created"
    return "changed"


def receive(
    session: Session,
    *,
    source: HrisSource,
    body: bytes,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
) -> dict[str, Any]:
    """Verify, deduplicate and apply one HR event; returns the acknowledgement."""
    if not source.secret:
        raise Unprocessable(f"HR source {source.name} has no secret; set one to accept events.")
    verify_signature(
        secret=source.secret, body=body, msg_id=msg_id, timestamp=timestamp, signature=signature
    )
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("The body is not valid JSON.", slug="malformed-json") from None
    event_id = str(get_path(payload, source.event_id_path) or msg_id)
    event_type = str(get_path(payload, source.event_type_path) or "employee.changed")
    digest = hashlib.sha256(body).hexdigest()
    seen = session.exec(
        select(HrisEvent).where(HrisEvent.source_id == source.id, HrisEvent.event_id == event_id)
    ).first()
    if seen is not None:
        if seen.payload_sha256 != digest:
            raise Conflict(
                f"Event {event_id} was received before with different content.",
                slug="event-id-reused",
            )
        return {**seen.outcome, "duplicate": True}
    record = record_from(get_path(payload, source.employee_path), source.field_paths)
    if _kind(event_type) == "terminated":
        update = {"active": False}
        if record.employment_end_date is None:
            update["employment_end_date"] = clock.now().date()  # type: ignore[assignment]
        record = record.model_copy(update=update)
        record.model_fields_set.update(update)
    report = mapping.apply_hr_records(session, records=[record], source=source.name, partial=False)
    outcome = report.outcomes[0]
    ack = {
        "event_id": event_id,
        "event_type": event_type,
        "duplicate": False,
        "status": outcome.status,
        "employee_number": outcome.employee_number,
        "person_id": str(outcome.person_id) if outcome.person_id else None,
        "unmapped": [{"kind": k, "value": v} for k, v in outcome.unmapped],
        "problems": outcome.problems,
    }
    if outcome.status == "error":
        # Nothing is stored: the HR system may fix the data and send the same event again.
        raise Unprocessable(
            "; ".join(f"{p['field']}: {p['message']}" for p in outcome.problems),
            slug="hr-event-rejected",
            problems=outcome.problems,
        )
    row = HrisEvent(
        source_id=source.id,
        event_id=event_id,
        event_type=event_type,
        payload_sha256=digest,
        employee_number=record.employee_number,
        outcome=ack,
        received_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, entity_type="hris_event", entity_id=row.id, action="create",
        after={"source": source.name, "event_id": event_id, "event_type": event_type},
    )  # fmt: skip
    return ack
