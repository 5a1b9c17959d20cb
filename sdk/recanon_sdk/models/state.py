"""Reading a model's state dict and self-describing metadata from a safetensors file (never pickle).

The file format is written by :func:`recanon_sdk.models.weights.save_model`; this module only reads
it, so that the registry (which loads named variants) and the weights module (which builds models
from the registry) do not import each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

__all__ = ["FORMAT", "StateOrPath", "load_state"]

FORMAT = "recanon-model/1"
StateOrPath = str | Path | Mapping[str, torch.Tensor]


def _read_meta(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_state(source: StateOrPath) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, metadata)`` from a safetensors path, or ``(dict(source), {})`` for a state dict."""
    if isinstance(source, Mapping):
        return dict(source), {}
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    raw = _read_meta(path)
    meta: dict[str, Any] = {"format": raw.get("format", ""), "arch": raw.get("arch", "")}
    for key in ("kwargs", "input_size", "extra"):
        meta[key] = json.loads(raw[key]) if key in raw else None
    return load_file(str(path)), meta
