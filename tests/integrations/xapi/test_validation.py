"""Statement validation: each rule with a valid and an invalid example (xAPI 1.0.3 Part Two
Data section ids; 2.0 / IEEE 9274.1.1 keeps the same rules)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.integrations.xapi.factories import LMS, lrs_headers, statement

BASE = statement("someone@example.nl", "experienced", LMS + "intro")


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["id"] = str(uuid.uuid4())
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target.setdefault(part, {})
    if value is _DELETE:
        target.pop(last)
    else:
        target[last] = value
    return body


_DELETE = object()
GROUP_MEMBER = {"objectType": "Agent", "mbox": "mailto:m@example.nl"}

# (rule, valid change, invalid change)
CASES = [
    ("Data 2.2.s2.b3 actor required", ("result", {}), ("actor", _DELETE)),
    ("Data 2.2.s4.b1.b7 unknown property", ("context", {}), ("colour", "blue")),
    ("Data 2.2.s4.b1.b1 null value", ("result", {"response": "x"}), ("result", {"response": None})),
    ("Data 4.4 UUID id", ("id", "7CCD3322-E1A5-411A-A67D-6A735C76F119"), ("id", "not-a-uuid")),
    (
        "Data 2.4.2.1.s2.b1 one IFI",
        ("actor", {"mbox_sha1sum": "a" * 40}),
        ("actor", {"name": "no identifier"}),
    ),
    (
        "Data 2.4.2.1.s2.b2 not two IFIs",
        ("actor", {"openid": "http://id.example/1"}),
        ("actor", {"mbox": "mailto:a@b.nl", "openid": "http://id.example/1"}),
    ),
    (
        "Data 2.4.2.3 mbox is a mailto IRI",
        ("actor", {"mbox": "mailto:a@b.nl"}),
        ("actor", {"mbox": "a@b.nl"}),
    ),
    (
        "Data 2.4.2.4 account needs homePage and name",
        ("actor", {"account": {"homePage": "https://hr.example.org", "name": "E1"}}),
        ("actor", {"account": {"name": "E1"}}),
    ),
    (
        "Data 2.4.2.2.s4.b1 anonymous group lists members",
        ("actor", {"objectType": "Group", "member": [GROUP_MEMBER]}),
        ("actor", {"objectType": "Group", "name": "team"}),
    ),
    (
        "Data 2.4.2.2.s4.b2 no nested groups",
        ("actor", {"objectType": "Group", "mbox": "mailto:g@b.nl", "member": [GROUP_MEMBER]}),
        ("actor", {"objectType": "Group", "member": [{"objectType": "Group", "member": []}]}),
    ),
    ("Data 2.4.3 verb id is an IRI", ("verb", {"id": "urn:x:did"}), ("verb", {"id": "did"})),
    (
        "Data 2.2.s4.b2 language map keys",
        ("verb", {"id": "urn:x:did", "display": {"nl-NL": "d"}}),
        ("verb", {"id": "urn:x:did", "display": {"not a tag": "d"}}),
    ),
    (
        "Data 2.4.4.s2 object types",
        ("object", {"objectType": "Agent", "mbox": "mailto:a@b.nl"}),
        ("object", {"objectType": "Thing", "id": "urn:x"}),
    ),
    (
        "Data 2.4.4.2.s1.b1 agent object needs objectType",
        ("object", {"objectType": "Agent", "mbox": "mailto:a@b.nl"}),
        ("object", {"mbox": "mailto:a@b.nl"}),
    ),
    (
        "Data 2.4.4.3.s4 StatementRef id",
        ("object", {"objectType": "StatementRef", "id": str(uuid.uuid4())}),
        ("object", {"objectType": "StatementRef", "id": "x"}),
    ),
    (
        "Data 2.4.4.3.s8.b3 SubStatement without id",
        (
            "object",
            {
                "objectType": "SubStatement",
                "actor": GROUP_MEMBER,
                "verb": {"id": "urn:x:plan"},
                "object": {"id": "urn:x:y"},
            },
        ),
        (
            "object",
            {
                "objectType": "SubStatement",
                "id": str(uuid.uuid4()),
                "actor": GROUP_MEMBER,
                "verb": {"id": "urn:x:plan"},
                "object": {"id": "urn:x:y"},
            },
        ),
    ),
    (
        "Data 2.4.4.1.s13.b1 interactionType",
        (
            "object",
            {
                "id": "urn:x:q",
                "definition": {"interactionType": "choice", "choices": [{"id": "a"}, {"id": "b"}]},
            },
        ),
        ("object", {"id": "urn:x:q", "definition": {"interactionType": "essay"}}),
    ),
    (
        "Data 2.4.4.1.s16.b1 distinct component ids",
        (
            "object",
            {
                "id": "urn:x:q",
                "definition": {"interactionType": "likert", "scale": [{"id": "1"}, {"id": "2"}]},
            },
        ),
        (
            "object",
            {
                "id": "urn:x:q",
                "definition": {"interactionType": "likert", "scale": [{"id": "1"}, {"id": "1"}]},
            },
        ),
    ),
    (
        "Data 2.4.5.1 scaled in [-1, 1]",
        ("result", {"score": {"scaled": -1}}),
        ("result", {"score": {"scaled": 1.5}}),
    ),
    (
        "Data 2.4.5.1 raw between min and max",
        ("result", {"score": {"raw": 5, "min": 0, "max": 10}}),
        ("result", {"score": {"raw": 11, "min": 0, "max": 10}}),
    ),
    (
        "Data 2.4.5.1 min below max",
        ("result", {"score": {"min": 0, "max": 1}}),
        ("result", {"score": {"min": 2, "max": 1}}),
    ),
    (
        "Data 2.2.s4.b1.b2 numbers not strings",
        ("result", {"score": {"raw": 3}}),
        ("result", {"score": {"raw": "3"}}),
    ),
    (
        "Data 2.2.s4.b1.b3 booleans not strings",
        ("result", {"success": True}),
        ("result", {"success": "true"}),
    ),
    (
        "Data 4.6 duration",
        ("result", {"duration": "PT4H35M59.14S"}),
        ("result", {"duration": "4 hours"}),
    ),
    (
        "Data 2.4.6.s4.b1 revision only with an Activity",
        ("context", {"revision": "2"}),
        ("object", {"objectType": "StatementRef", "id": str(uuid.uuid4()), "_ctx": True}),
    ),
    (
        "Data 2.4.6.2.s4.b1 contextActivities keys",
        ("context", {"contextActivities": {"parent": {"id": "urn:x:p"}}}),
        ("context", {"contextActivities": {"sibling": [{"id": "urn:x:p"}]}}),
    ),
    (
        "Data 2.4.6 registration is a UUID",
        ("context", {"registration": str(uuid.uuid4())}),
        ("context", {"registration": "r-1"}),
    ),
    (
        "Data 4.5.s1.b1 timestamp",
        ("timestamp", "2026-05-04T10:00:00.123+02:00"),
        ("timestamp", "04-05-2026 10:00"),
    ),
    ("Data 2.4.10 version", ("version", "1.0.3"), ("version", "0.95")),
    (
        "Data 2.3.2.s2.b1 voiding object is a StatementRef",
        ("verb", {"id": "http://adlnet.gov/expapi/verbs/experienced"}),
        ("verb", {"id": "http://adlnet.gov/expapi/verbs/voided"}),
    ),
    (
        "Communication 1.5.2 attachments refused",
        ("context", {"language": "nl-NL"}),
        (
            "attachments",
            [
                {
                    "usageType": "urn:x",
                    "display": {"en": "a"},
                    "contentType": "text/plain",
                    "length": 1,
                    "sha2": "ab",
                }
            ],
        ),
    ),
]


@pytest.mark.parametrize(("rule", "valid", "invalid"), CASES, ids=[c[0] for c in CASES])
def test_statement_validation_rule(client, db, rule, valid, invalid):
    """Each rule: the valid example is stored (200), the invalid one is a 400 naming it."""
    headers = lrs_headers(db)
    good = _with(*valid)
    response = client.post("/xapi/statements", json=good, headers=headers)
    assert response.status_code == 200, (rule, response.text)
    path, value = invalid
    value = copy.deepcopy(value) if isinstance(value, dict) else value
    if isinstance(value, dict) and value.pop("_ctx", False):
        bad = _with(path, value)
        bad["context"] = {"revision": "2"}
    else:
        bad = _with(path, value)
    response = client.post("/xapi/statements", json=bad, headers=headers)
    assert response.status_code == 400, (rule, response.text)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "xAPI" in response.json()["detail"]


def test_batch_with_one_invalid_statement_stores_nothing(client, db):
    """Communication 2.1.2: a rejected batch changes nothing."""
    headers = lrs_headers(db)
    good = _with("result", {})
    bad = _with("actor", _DELETE)
    assert client.post("/xapi/statements", json=[good, bad], headers=headers).status_code == 400
    got = client.get("/xapi/statements", params={"statementId": good["id"]}, headers=headers)
    assert got.status_code == 404
