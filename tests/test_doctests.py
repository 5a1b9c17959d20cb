"""The examples in the SDK's and the CLI's docstrings run (``recanon_keys`` has its own doctest test)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import recanon_cli
import recanon_sdk

MODULES = sorted(
    m.name
    for package in (recanon_sdk, recanon_cli)
    for m in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    if not m.ispkg
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
