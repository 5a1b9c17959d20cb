"""The examples in the SDK's and the CLI's docstrings run (``recanon_keys`` has its own doctest test)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import recanon_cli
import recanon_sdk

#: Every module and every package's ``__init__`` (a folder without one is not walked:
#: tests/test_structure.py checks that every folder of modules has one).
MODULES = sorted(
    [recanon_sdk.__name__, recanon_cli.__name__]
    + [
        m.name
        for package in (recanon_sdk, recanon_cli)
        for m in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    ]
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
