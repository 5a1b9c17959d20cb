"""Doctests run; importing recanon_keys loads no torch, numpy or recanon_sdk; the docs name every vector."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import recanon_keys

MODULES = [
    "recanon_keys",
    *sorted(
        m.name for m in pkgutil.walk_packages(recanon_keys.__path__, prefix="recanon_keys.") if not m.ispkg
    ),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL, verbose=False
    )
    assert result.failed == 0
    public = {
        "identities",
        "deployments",
        "sealing",
        "rewrapping",
        "audit",
        "files",
        "sidecar",
        "manifest",
        "inspect",
        "verify",
    }
    if name == "recanon_keys" or name.removeprefix("recanon_keys.") in public:
        assert result.attempted > 0, f"{name} should show an example"


def test_import_does_not_load_torch_numpy_or_the_sdk() -> None:
    code = (
        "import sys, recanon_keys, recanon_keys.inspect, recanon_keys.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'numpy', 'recanon_sdk'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_key_formats_doc_lists_every_vector_and_every_domain_string() -> None:
    doc = (ROOT / "docs" / "key-formats.md").read_text()
    for path in sorted((Path(__file__).with_name("vectors")).iterdir()):
        assert f"`{path.name}`" in doc, f"docs/key-formats.md does not mention vector {path.name}"
    sources = "".join(p.read_text() for p in Path(recanon_keys.__file__).parent.rglob("*.py"))
    for domain in sorted(set(re.findall(r'b"(recanon/v[0-9]+/[a-z0-9/-]+)"', sources))):
        assert domain in doc, f"docs/key-formats.md does not define {domain}"
