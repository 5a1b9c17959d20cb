"""A small model registry: architecture names → constructors, and named weight variants.

An architecture name (``gx_unet_s``) says *what network*; a variant name (``gx_unet_s.v1``) adds
*which weights*. Weights are safetensors files whose metadata names the architecture and its
keyword arguments, so a file is enough to rebuild its model (see :mod:`recanon_sdk.models.weights`;
reading them is :mod:`recanon_sdk.models.state`).

>>> from recanon_sdk.models import create_model, list_models
>>> "gx_unet_s" in list_models()
True
>>> create_model("gy_unet_s").__class__.__name__
'KeyedRecoverer'
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from recanon_sdk.models.state import load_state

__all__ = [
    "create_model",
    "is_model",
    "list_models",
    "list_variants",
    "register_model",
    "register_variant",
    "split_model_name",
]

_F = TypeVar("_F", bound=Callable[..., nn.Module])

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_VARIANTS: dict[str, str | Path] = {}  # "arch.tag" → weights location


def register_model(fn: _F) -> _F:
    """Decorator: register ``fn`` (returning an ``nn.Module``) under its function name."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def register_variant(name: str, weights: str | Path) -> None:
    """Register named weights ``arch.tag`` (a safetensors path) for a registered architecture."""
    arch, tag = split_model_name(name)
    if not tag:
        raise ValueError(f"a variant name needs a tag after the dot, e.g. '{arch}.v1'")
    _VARIANTS[name] = weights


def split_model_name(name: str) -> tuple[str, str]:
    """``"gx_unet_s.v1"`` → ``("gx_unet_s", "v1")``; ``"gx_unet_s"`` → ``("gx_unet_s", "")``."""
    arch, _, tag = name.partition(".")
    return arch, tag


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered architecture names matching a shell-style ``pattern``."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def list_variants(pattern: str = "*") -> list[str]:
    """Sorted registered weight variants (``arch.tag``) matching ``pattern``."""
    return sorted(n for n in _VARIANTS if fnmatch.fnmatch(n, pattern))


def is_model(name: str) -> bool:
    return split_model_name(name)[0] in _MODELS


def create_model(name: str, pretrained: bool | str | Path = False, **kwargs: Any) -> nn.Module:
    """Build a registered model; ``pretrained`` loads the variant's weights or a given safetensors path.

    ``name`` may carry a variant tag (``gx_unet_s.v1``); with ``pretrained=True`` its registered
    weights are loaded. Extra ``kwargs`` override the architecture's config fields.
    """
    arch, tag = split_model_name(name)
    if arch not in _MODELS:
        known = ", ".join(list_models())
        raise KeyError(f"unknown model {arch!r}; registered: {known}")
    model = _MODELS[arch](**kwargs)
    weights: str | Path | None = None
    if isinstance(pretrained, str | Path):
        weights = pretrained
    elif pretrained:
        if not tag or name not in _VARIANTS:
            raise KeyError(f"no registered weights for {name!r}; known variants: {list_variants() or 'none'}")
        weights = _VARIANTS[name]
    if weights is not None:
        state, _ = load_state(weights)
        model.load_state_dict(state)
    return model
