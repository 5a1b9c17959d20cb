"""Modules imported on first use: a command that never needs one does not pay for its import.

For the commands' own modules, which one thread runs: Python's lazy loader is not safe when two
threads first touch the same module at once (before Python 3.12).

>>> json = lazy_module("json")       # nothing runs yet when not already imported
>>> json.dumps([1])                   # the first attribute loads the module
'[1]'
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, loaded when one of its attributes is first read (already imported: as is).

    Raises :class:`ModuleNotFoundError` at once for a module that is not installed.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
