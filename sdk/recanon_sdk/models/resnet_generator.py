"""ResNet generators GX and GY (the alternative the paper compares with U-Net).

Paper: "Recoverable Anonymization for Pose Estimation" (arXiv 2409.02715) compares U-Net and
ResNet generators; the ResNet generator is the one of Johnson et al., "Perceptual Losses for
Real-Time Style Transfer" (ECCV 2016), as used by pix2pix/CycleGAN: 7×7 stem, two stride-2
downsamplings, residual blocks, two upsamplings, 7×7 head.

Origin: written for recanon from the papers; InstanceNorm as in CycleGAN, reflection padding,
bilinear upsampling + conv instead of transposed convolutions. Licence: AGPL-3.0-or-later.

>>> import torch
>>> from recanon_sdk.models import create_model
>>> gy = create_model("gy_resnet_s")
>>> gy(torch.rand(1, 3, 128, 64), gy.random_key(1, 128, 64)).shape
torch.Size([1, 3, 128, 64])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from recanon_sdk.models.keyed import BandScrambler, ScramblerConfig
from recanon_sdk.models.pinned import wrap_generator
from recanon_sdk.models.registry import register_model
from recanon_sdk.models.unet import FiLM

__all__ = ["ResNetGenerator", "ResNetGeneratorConfig", "checkpoint_filter_fn"]


# --- blocks ---------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """Two reflection-padded 3×3 convolutions with InstanceNorm, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv_in_relu(in_chs: int, out_chs: int, k: int, stride: int = 1) -> nn.Sequential:
    pad = k // 2
    return nn.Sequential(
        nn.ReflectionPad2d(pad),
        nn.Conv2d(in_chs, out_chs, k, stride=stride, bias=False),
        nn.InstanceNorm2d(out_chs, affine=True),
        nn.ReLU(inplace=True),
    )


class UpBlock(nn.Sequential):
    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            *_conv_in_relu(in_chs, out_chs, 3),
        )


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResNetGeneratorConfig:
    in_chans: int = 3
    out_chans: int = 3
    base_width: int = 16
    num_blocks: int = 6
    residual: bool = False
    code_dim: int = 0
    keyed: bool = True
    scrambler: ScramblerConfig = field(default_factory=ScramblerConfig)


class ResNetGenerator(nn.Module):
    """c7s1-w, d2w, d4w, ``num_blocks`` × R4w, u2w, uw, c7s1-3 (Johnson et al. notation)."""

    def __init__(self, cfg: ResNetGeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.base_width
        self.stem = _conv_in_relu(cfg.in_chans, w, 7)
        self.down = nn.Sequential(_conv_in_relu(w, 2 * w, 3, 2), _conv_in_relu(2 * w, 4 * w, 3, 2))
        self.blocks = nn.Sequential(*(ResidualBlock(4 * w) for _ in range(cfg.num_blocks)))
        self.film = FiLM(cfg.code_dim, 4 * w) if cfg.code_dim else None
        self.up = nn.Sequential(UpBlock(4 * w, 2 * w), UpBlock(2 * w, w))
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(w, cfg.out_chans, 7))
        if cfg.residual:
            nn.init.zeros_(self.head[1].weight)
            nn.init.zeros_(self.head[1].bias)

    @property
    def code_dim(self) -> int:
        return self.cfg.code_dim

    def forward(self, x: torch.Tensor, code: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError("ResNet generator input height and width must be multiples of 4")
        h = self.blocks(self.down(self.stem(x)))
        if self.film is not None:
            if code is None:
                raise ValueError("this generator is conditioned on a code; pass one")
            h = self.film(h, code)
        out = self.head(self.up(h))
        return out + x[:, : self.cfg.out_chans] if self.cfg.residual else torch.sigmoid(out)


# --- checkpoint filter ----------------------------------------------------------------------------


def checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (``module.``, ``_orig_mod.``) from a state dict."""
    out = {}
    for k, v in state_dict.items():
        for prefix in ("module.", "_orig_mod."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


# --- configs --------------------------------------------------------------------------------------

model_cfgs: dict[str, ResNetGeneratorConfig] = {
    "gx_resnet_s": ResNetGeneratorConfig(base_width=16, num_blocks=6, residual=False),
    "gy_resnet_s": ResNetGeneratorConfig(base_width=16, num_blocks=6, residual=True),
}


def _build(name: str, role: str, pin: Mapping[str, Any] | None = None, **kwargs: Any) -> nn.Module:
    cfg = replace(model_cfgs[name], **kwargs)
    if isinstance(cfg.scrambler, Mapping):
        cfg = replace(cfg, scrambler=ScramblerConfig(**cfg.scrambler))
    net = ResNetGenerator(cfg)
    scrambler = BandScrambler(cfg.scrambler) if cfg.keyed else None
    return wrap_generator(net, role, scrambler, pin)


# --- registered constructors ----------------------------------------------------------------------


@register_model
def gx_resnet_s(**kwargs: Any) -> nn.Module:
    """GX, small ResNet generator (~0.5 M parameters), keyed by default."""
    return _build("gx_resnet_s", "gx", **kwargs)


@register_model
def gy_resnet_s(**kwargs: Any) -> nn.Module:
    """GY, small residual ResNet generator, keyed by default."""
    return _build("gy_resnet_s", "gy", **kwargs)
