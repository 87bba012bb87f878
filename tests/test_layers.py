"""The apps depend on each other in one direction only (docs/development.md, "Layers").

`core` (roles, the cache, time and charts drawn from plain data) is the lowest layer and
imports neither app; `commitments` (the record) may import `core`; `tracker` (people, events,
reminders, the dashboard) may import both; `api` (the JSON API) may import all three. A module
of a lower layer that imports a higher one fails this test, wherever the import stands in the
module (top level or inside a function).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: each package may import only itself and the packages before it.
LAYERS = ["core", "commitments", "tracker", "api"]


def imported_packages(source: str) -> set[tuple[str, int]]:
    """The first part of every absolute module name imported, with its line number."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def layer_violations(package: str) -> list[str]:
    higher = set(LAYERS[LAYERS.index(package) + 1 :])
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for imported, line in imported_packages(path.read_text(encoding="utf-8")):
            if imported in higher:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return violations


# tracker/reminders/ is a package of stages; a stage imports only the stages before it.
REMINDER_STAGES = [
    "following",
    "deadlines",
    "planning",
    "marks",
    "claiming",
    "chunk",
    "unsubscribe",
    "messages",
    "sending",
]


def stage_imports(source: str) -> set[tuple[str, int]]:
    """The sibling modules a module of a package imports (`from .x import ...`)."""
    return {
        (node.module.split(".")[0], node.lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
    }


def stage_violations() -> list[str]:
    package = ROOT / "tracker" / "reminders"
    assert sorted(path.stem for path in package.glob("[!_]*.py")) == sorted(REMINDER_STAGES)
    violations = []
    for position, stage in enumerate(REMINDER_STAGES):
        source = (package / f"{stage}.py").read_text(encoding="utf-8")
        for imported, line in stage_imports(source):
            if imported not in REMINDER_STAGES[:position]:
                violations.append(f"tracker/reminders/{stage}.py:{line} imports {imported}")
    return violations


def test_each_reminder_stage_imports_only_the_stages_before_it():
    assert stage_violations() == []


@pytest.mark.parametrize("package", LAYERS[:-1])
def test_a_lower_layer_never_imports_a_higher_one(package):
    assert layer_violations(package) == []


def test_the_check_sees_imports_inside_functions_too():
    source = "def f():\n    from tracker.models import User\n\nimport commitments.models\n"
    assert imported_packages(source) == {("tracker", 2), ("commitments", 4)}


def test_relative_imports_stay_inside_their_package():
    assert imported_packages("from . import models\nfrom .x import y\n") == set()
