"""Imports point one way (DESIGN.md): core <- auth <- org <- registry <- competencies <- evidence
<- certification <- rollout <- reports, integrations on top; composition roots may import all."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
LAYERS = [
    "core",
    "auth",
    "org",
    "registry",
    "competencies",
    "evidence",
    "certification",
    "rollout",
    "reports",
    "integrations",
]
COMPOSITION_ROOTS = {"main", "api", "all_models", "cli", "worker", "demo", "openapi_export"}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "app":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("app."))
    return names


def test_domain_packages_import_only_packages_below_them():
    checked = 0
    for path in APP.rglob("*.py"):
        package = path.relative_to(APP).parts[0].removesuffix(".py")
        if package in COMPOSITION_ROOTS or package not in LAYERS:
            continue
        allowed = set(LAYERS[: LAYERS.index(package) + 1])
        if package == "integrations":
            allowed = set(LAYERS)
        wrong = _imported_packages(path) - allowed
        assert not wrong, f"{path.relative_to(APP)} imports {sorted(wrong)}"
        checked += 1
    assert checked > 10
