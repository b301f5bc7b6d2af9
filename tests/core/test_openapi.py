"""The committed OpenAPI document is the app's, and every route is documented."""

from __future__ import annotations

import json
import re

from app.cli import OPENAPI_PATH
from app.openapi_export import render_openapi

UNDOCUMENTED_ERRORS_OK = {"/healthz", "/.well-known/jwks.json"}
# Python-only regex syntax that ECMA-262 (JSON Schema's dialect) does not have.
NON_ECMA = re.compile(r"\(\?P<|\(\?P=|\\A|\\Z|\(\?[aiLmsux]+\)|\(\?<[=!]|\\z")


def test_committed_openapi_matches_the_app():
    assert OPENAPI_PATH.read_text() == render_openapi(), (
        "openapi/openapi.json is stale: run `aidiploma openapi`"
    )


def test_every_operation_has_summary_tags_and_error_responses():
    spec = json.loads(render_openapi())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert operation.get("tags"), where
            assert operation.get("description"), f"{where} has no docstring"
            if path not in UNDOCUMENTED_ERRORS_OK:
                errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
                assert errors, f"{where} documents no error response"


def test_operation_ids_are_unique_and_tagged():
    spec = json.loads(render_openapi())
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all("-" in operation_id for operation_id in ids)


def test_patterns_are_ecma_262_compatible():
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for pattern in walk(json.loads(render_openapi())):
        assert not NON_ECMA.search(pattern), pattern
