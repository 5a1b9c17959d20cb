"""The packages' structure: every folder a package, no import cycle between the SDK's parts, no
``assert`` as a runtime check, the shared data folder found from the SDK's own location."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_script

PACKAGES = [ROOT / "sdk" / "recanon_sdk", ROOT / "keys" / "recanon_keys", ROOT / "cli" / "recanon_cli"]
#: ``People.to_supervision()`` and friends delegate to recanon_sdk.conversions, which imports the
#: types: supervision's adapter pattern, imported lazily, kept on purpose.
KNOWN_CYCLES = [["recanon_sdk.conversions", "recanon_sdk.types"]]


def _import_graph():
    return load_script("research/probes/import_graph.py")


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_folder_of_modules_is_a_package(package: Path) -> None:
    """A folder without ``__init__.py`` is skipped by ``pkgutil.walk_packages``, so
    tests/test_doctests.py would never run its examples."""
    folders = {p.parent for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == []


def test_no_import_cycle_between_the_sdks_parts() -> None:
    """Training and evaluation share their data through recanon_sdk.datasets and .portraits, and
    evaluation imports nothing from training (lazy imports count: they tie modules together all the
    same), so training's held-out check may use evaluation's metrics without a cycle."""
    tools = _import_graph()
    _, graph = tools.build_graph(ROOT)
    assert tools.cycles(tools.parts_graph(graph)) == KNOWN_CYCLES
    assert tools.cycles(graph) == KNOWN_CYCLES
    evaluation = [m for m in graph if m.startswith("recanon_sdk.evaluation")]
    assert len(evaluation) > 1 and not {t for m in evaluation for t in graph[m] if ".training" in t}


def test_the_cycle_finder_finds_a_cycle() -> None:
    cycles = _import_graph().cycles
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", PACKAGES[:2], ids=lambda p: p.name)
def test_library_code_checks_invariants_without_assert(package: Path) -> None:
    """``assert`` vanishes under ``python -O``: library code raises a real error instead."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_the_shared_data_folder_defaults_to_the_repositorys_sibling(monkeypatch) -> None:
    from recanon_sdk.datasets import shared_data_dir

    monkeypatch.delenv("RECANON_SHARED", raising=False)
    assert shared_data_dir() == ROOT.resolve().parent / "shared" / "data"
    monkeypatch.setenv("RECANON_SHARED", "/somewhere")
    assert shared_data_dir() == Path("/somewhere/data")
