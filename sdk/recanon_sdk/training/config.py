"""Training configuration: nested dataclasses, read from TOML, overridable by dotted keys.

>>> cfg = TrainConfig()
>>> cfg = apply_overrides(cfg, ["steps=5", "loss.lambda_pe=0.5", "codec.kind=jpeg"])
>>> cfg.steps, cfg.loss.lambda_pe, cfg.codec.kind
(5, 0.5, 'jpeg')
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recanon_sdk.models.codec import CodecConfig
from recanon_sdk.models.pose_loss import PoseLossConfig

__all__ = [
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "SourceConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
]


@dataclass
class ModelConfig:
    gx: str = "gx_unet_s"
    gy: str = "gy_unet_s"
    discriminator: str = "d_patchgan_s"  # used when loss.lambda_adv > 0
    keyed: bool = True  # per-deployment band scrambling between GX and GY
    min_diag: int = 2  # scrambled DCT band (anti-diagonals u+v)
    max_diag: int = 5
    code_dim: int = 0  # > 0 also feeds a ±1 key-derived code through FiLM
    pin_blur: float = 0.0  # > 0: outside the keyed band GX outputs a blur of σ = this × longer side
    pin_cell: int = 8  # ... plus a coarse correction of this cell size (models/pinned.py)
    pin_top: float = 1.0  # the top fraction of the portrait that is pinned (1 = all)
    pin_head: bool = False  # pin only where the teacher's face keypoints put the head (needs lambda_pe)
    pin_head_scale: float = 0.0  # > 0: blur each head at σ = this × its box's longer side (needs pin_head)
    pin_whole_p: float = 0.0  # share of training portraits pinned whole anyway (as deployed close-ups are)
    pin_clear_diag: int = 0  # > 0: pinned blocks show no luma from this u+v up to just below min_diag


@dataclass
class SourceConfig:
    """One data source. ``kind``: ``folder`` (person crops, no labels), ``coco`` (keypoint JSON +
    image folder), ``mpii`` (mmpose-style MPII JSON + image folder), ``video`` (people detected by
    the pose model, pseudo-labels), ``synthetic`` (generated stick figures with keypoints)."""

    kind: str = "folder"
    path: str = ""  # folder / annotation file / video file
    images: str = ""  # image folder for coco / mpii (default: beside the annotation file)
    limit: int = 0  # use at most this many samples (0 = all)
    frame_stride: int = 10  # video only


@dataclass
class DataConfig:
    sources: list[SourceConfig] = field(default_factory=lambda: [SourceConfig(kind="synthetic", limit=64)])
    size: tuple[int, int] = (128, 64)  # (H, W) of training portraits
    margin: float = 0.15  # relative margin around the person box
    augment: bool = True
    holdout: float = 0.1  # fraction held out for evaluation (deterministic split)


@dataclass
class LossConfig:
    desensitize: str = "blur"  # blur | pixelate | noise | blur+noise
    blur_sigma: float = 5.0
    pixel_block: int = 8
    noise_sigma: float = 0.1
    lambda_xy: float = 1.0  # desensitization guidance L_XY
    xy_delta: float = 0.05
    xy_tolerance: float = 0.01
    lambda_l1: float = 1.0  # recovery L1
    lambda_ssim: float = 0.2  # recovery 1 - SSIM
    lambda_adv: float = 0.0  # adversarial (DX, DY); 0 disables the discriminators
    lambda_pe: float = 0.0  # λ3, pose utility; 0 disables P
    lambda_wrong_key: float = 0.0  # GY under a wrong key should give back its input (L1); 0 disables
    pose_on_recovered: bool = True
    pose_on_raw: float = 0.0  # > 0: a fine-tuned P also learns the raw portraits (weight × L_PE)
    pose_every: int = 1  # compute L_PE every n steps (CPU budget)
    pose: PoseLossConfig = field(default_factory=PoseLossConfig)


@dataclass
class OptimConfig:
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_gamma: float = 1.0  # exponential decay per step: lr_t = lr · γ^t
    lr_disc: float = 2e-4
    lr_pose: float = 1e-5
    grad_clip: float = 1.0
    train_generators: bool = True  # false: GX and GY stay frozen (fine-tune P alone, the paper's ablation)
    train_gx: bool = True  # false: GX stays frozen and only GY (and P) learn, e.g. GY on a real codec


@dataclass
class TrainConfig:
    name: str = "run"
    steps: int = 1000
    batch_size: int = 8
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    out: str = "runs/run"
    log_every: int = 10
    ckpt_every: int = 200
    tensorboard: bool = False
    time_limit_min: float = 0.0  # stop (and save) after this many minutes of training; 0 = no limit
    init_from: str = ""  # a run folder: start from its gx/gy.safetensors (fresh optimizer, step 0)
    init_only: list[str] = field(default_factory=lambda: ["gx", "gy"])  # which of init_from's to load
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)


# --- (de)serialisation ----------------------------------------------------------------------------


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a table")
        return _from_dict(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ValueError(f"{where}: expected {len(args)} values")
        return tuple(_convert(a, v, where) for a, v in zip(args, value, strict=True))
    if origin in (typing.Literal,):
        if value not in typing.get_args(tp):
            raise ValueError(f"{where}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin in (types.UnionType, typing.Union):
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ValueError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _from_dict(cls: Any, data: dict[str, Any], where: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown setting {where + '.' if where else ''}{sorted(unknown)[0]}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from a plain dict (unknown keys are errors)."""
    return _from_dict(TrainConfig, data)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config."""
    path = Path(path)
    with path.open("rb") as f:
        data = tomllib.load(f)
    cfg = config_from_dict(data)
    base = path.parent
    for src in cfg.data.sources:  # relative data paths are relative to the config file
        for attr in ("path", "images"):
            value = getattr(src, attr)
            if value and not Path(value).is_absolute() and not value.startswith("$"):
                setattr(src, attr, str((base / value).resolve()))
    return cfg


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``section.key=value`` overrides (values in TOML syntax; bare words are strings)."""
    data = config_to_dict(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r} must look like key=value")
        parts = key.strip().split(".")
        node = data
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"unknown setting {key.strip()}")
            node = node[p]
        if parts[-1] not in node:
            raise ValueError(f"unknown setting {key.strip()}")
        node[parts[-1]] = _parse_value(text.strip())
    return config_from_dict(data)
