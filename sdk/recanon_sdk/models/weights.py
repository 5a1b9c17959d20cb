"""Model weights as safetensors files that describe themselves (never pickle).

A weights file holds a model's state dict and string metadata: ``format`` (``recanon-model/1``),
``arch`` (registered name), ``kwargs`` (JSON of constructor overrides) and ``input_size``
(``[H, W]`` the model was trained at). :func:`load_model` rebuilds the model from the file alone.

>>> import tempfile, torch
>>> from recanon_sdk.models import create_model
>>> gx = create_model("gx_unet_s")
>>> with tempfile.TemporaryDirectory() as d:
...     _ = save_model(f"{d}/gx.safetensors", gx, "gx_unet_s", input_size=(128, 64))
...     again, meta = load_model(f"{d}/gx.safetensors")
>>> meta["arch"], meta["input_size"]
('gx_unet_s', [128, 64])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from recanon_sdk.models.registry import create_model
from recanon_sdk.models.state import FORMAT, StateOrPath, load_state

__all__ = ["DEFAULT_INPUT_SIZE", "FORMAT", "load_keyed_generator", "load_model", "load_state", "save_model"]

DEFAULT_INPUT_SIZE = (128, 64)


def save_model(
    path: str | Path,
    model: nn.Module,
    arch: str,
    kwargs: Mapping[str, Any] | None = None,
    input_size: tuple[int, int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model``'s state dict and self-describing metadata to ``path`` (safetensors)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "arch": arch,
        "kwargs": json.dumps(dict(kwargs or {}), sort_keys=True),
        "input_size": json.dumps(list(input_size) if input_size else None),
        "extra": json.dumps(dict(extra or {}), sort_keys=True),
    }
    save_file(state, str(path), metadata=meta)
    return path


def load_model(
    source: StateOrPath, arch: str | None = None, device: str | torch.device = "cpu", **kwargs: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild and load a model from a weights file (or a state dict plus ``arch``); eval mode."""
    state, meta = load_state(source)
    name = arch or meta.get("arch")
    if not name:
        raise ValueError("the weights do not name their architecture; pass arch=")
    model_kwargs = {**(meta.get("kwargs") or {}), **kwargs}
    model = create_model(name, **model_kwargs)
    model.load_state_dict(state)
    meta.setdefault("arch", name)
    return model.to(device).eval(), meta


def load_keyed_generator(
    source: StateOrPath,
    deployment_secret: bytes | None,
    *,
    device: str,
    arch: str | None,
    input_size: tuple[int, int] | None,
    model_kwargs: Mapping[str, Any] | None,
    missing_secret: str,
) -> tuple[nn.Module, tuple[int, int], torch.device, Any]:
    """Load a generator (GX or GY) and, if it is keyed, its deployment key: ``(model, size, device, key)``.

    ``size`` is ``input_size``, else the size the weights were trained at, else
    :data:`DEFAULT_INPUT_SIZE`. ``key`` is ``None`` for an unkeyed model; a keyed one needs
    ``deployment_secret``, and without it this raises ``ValueError(missing_secret)``.
    """
    model, meta = load_model(source, arch=arch, device=device, **dict(model_kwargs or {}))
    size = input_size or meta.get("input_size") or DEFAULT_INPUT_SIZE
    hw = (int(size[0]), int(size[1]))
    torch_device = torch.device(device)
    key = None
    if getattr(model, "keyed", False):
        if deployment_secret is None:
            raise ValueError(missing_secret)
        key = model.key_for_secret(deployment_secret, *hw).to(torch_device)
    return model, hw, torch_device, key
