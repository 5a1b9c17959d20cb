"""Training checkpoints as safetensors (never pickle): models, optimiser and scheduler state, step.

One file ``<out>/checkpoint.safetensors`` holds every tensor under a prefix (``model/gx/…``,
``optim/g/state/3/exp_avg``, ``rng/torch``); its metadata holds JSON for the rest (step, config,
optimiser hyper-parameters, scheduler state). The deployable weights are exported separately with
:func:`recanon_sdk.models.save_model` (``gx.safetensors``, ``gy.safetensors``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

__all__ = ["load_checkpoint", "save_checkpoint"]

FORMAT = "recanon-train-checkpoint/1"


def _optim_to_flat(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim/{name}/state/{idx}/{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[k] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optim_from_flat(name: str, tensors: Mapping[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{name}/state/"
    for key, v in tensors.items():
        if key.startswith(prefix):
            idx, k = key[len(prefix) :].split("/", 1)
            state.setdefault(int(idx), {})[k] = v
    for idx, sc in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(sc)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    path: str | Path,
    step: int,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    schedulers: Mapping[str, Any],
    config: Mapping[str, Any],
) -> Path:
    """Write everything needed to resume at ``step`` (atomically: temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for name, model in models.items():
        for k, v in model.state_dict().items():
            tensors[f"model/{name}/{k}"] = v.detach().cpu().contiguous()
    optim_meta = {}
    for name, opt in optimizers.items():
        t, m = _optim_to_flat(name, opt)
        tensors.update(t)
        optim_meta[name] = m
    tensors["rng/torch"] = torch.get_rng_state()
    meta = {
        "format": FORMAT,
        "step": str(step),
        "config": json.dumps(dict(config)),
        "optim": json.dumps(optim_meta),
        "sched": json.dumps({k: s.state_dict() for k, s in schedulers.items()}),
    }
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """Step and config of a checkpoint, without loading its tensors."""
    with safe_open(str(path), framework="pt") as f:
        raw = f.metadata() or {}
    if raw.get("format") != FORMAT:
        raise ValueError(f"{path} is not a recanon training checkpoint")
    return {"step": int(raw["step"]), "config": json.loads(raw["config"])}


def load_checkpoint(
    path: str | Path,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    schedulers: Mapping[str, Any],
) -> int:
    """Restore models, optimisers, schedulers and the torch RNG in place; returns the step."""
    path = Path(path)
    with safe_open(str(path), framework="pt") as f:
        raw = f.metadata() or {}
    if raw.get("format") != FORMAT:
        raise ValueError(f"{path} is not a recanon training checkpoint")
    tensors = load_file(str(path))
    for name, model in models.items():
        prefix = f"model/{name}/"
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not state:
            raise KeyError(f"checkpoint {path} has no weights for {name!r}")
        model.load_state_dict(state)
    optim_meta = json.loads(raw["optim"])
    for name, opt in optimizers.items():
        if name in optim_meta:
            opt.load_state_dict(_optim_from_flat(name, tensors, optim_meta[name]))
    sched_meta = json.loads(raw["sched"])
    for name, sched in schedulers.items():
        if name in sched_meta:
            sched.load_state_dict(sched_meta[name])
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    return int(raw["step"])
