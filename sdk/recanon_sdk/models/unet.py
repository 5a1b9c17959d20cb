"""U-Net generators GX and GY.

Paper: "Recoverable Anonymization for Pose Estimation" (arXiv 2409.02715): GX maps a raw person
portrait to a privacy-enhanced one and GY maps it back; both are U-Nets (Ronneberger et al.,
"U-Net", MICCAI 2015) in the pix2pix style (Isola et al., CVPR 2017). The paper also compares ResNet
generators (:mod:`recanon_sdk.models.resnet_generator`).

Origin: written for recanon from the papers; GroupNorm instead of BatchNorm (batches are small on
CPU), SiLU activations, bilinear upsampling instead of transposed convolutions (no checkerboard
artefacts that a codec would have to spend bits on), optional FiLM conditioning on a deployment
code at the bottleneck. Licence: AGPL-3.0-or-later (recanon).

>>> import torch
>>> from recanon_sdk.models import create_model
>>> gx = create_model("gx_unet_s")
>>> y = gx(torch.rand(2, 3, 128, 64), gx.random_key(2, 128, 64))
>>> tuple(y.shape), bool(y.min() >= 0), bool(y.max() <= 1)
((2, 3, 128, 64), True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from recanon_sdk.models.keyed import BandScrambler, ScramblerConfig
from recanon_sdk.models.pinned import wrap_generator
from recanon_sdk.models.registry import register_model

__all__ = ["UNetConfig", "UNetGenerator", "checkpoint_filter_fn"]


# --- blocks, small to large -----------------------------------------------------------------------


def _norm(channels: int, groups: int) -> nn.Module:
    g = min(groups, channels)
    while channels % g:
        g -= 1
    return nn.GroupNorm(g, channels)


class ConvNormAct(nn.Sequential):
    """3×3 convolution → GroupNorm → SiLU."""

    def __init__(self, in_chs: int, out_chs: int, groups: int = 8, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False),
            _norm(out_chs, groups),
            nn.SiLU(inplace=True),
        )


class DoubleConv(nn.Module):
    """Two ConvNormAct with a residual 1×1 shortcut (a "U-Net stage")."""

    def __init__(self, in_chs: int, out_chs: int, groups: int = 8) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_chs, out_chs, groups)
        self.conv2 = ConvNormAct(out_chs, out_chs, groups)
        self.shortcut = nn.Identity() if in_chs == out_chs else nn.Conv2d(in_chs, out_chs, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x)) + self.shortcut(x)


class FiLM(nn.Module):
    """Feature-wise linear modulation ``h·(1+γ(c)) + β(c)`` by a code vector ``c`` (zero-initialised)."""

    def __init__(self, code_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(code_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(code).chunk(2, dim=1)
        return h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class Down(nn.Module):
    """Downsample ×2 (strided 3×3 conv) then a stage."""

    def __init__(self, in_chs: int, out_chs: int, groups: int) -> None:
        super().__init__()
        self.pool = ConvNormAct(in_chs, in_chs, groups, stride=2)
        self.stage = DoubleConv(in_chs, out_chs, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage(self.pool(x))


class Up(nn.Module):
    """Bilinear upsample ×2, concatenate the skip connection, then a stage."""

    def __init__(self, in_chs: int, skip_chs: int, out_chs: int, groups: int) -> None:
        super().__init__()
        self.stage = DoubleConv(in_chs + skip_chs, out_chs, groups)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.stage(torch.cat([x, skip], dim=1))


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of a U-Net generator.

    ``widths`` are the channel counts per resolution (one downsampling between consecutive entries);
    ``residual`` adds the input to the output (identity at initialisation); ``code_dim`` > 0 adds
    FiLM conditioning on a deployment code at the bottleneck.
    """

    in_chans: int = 3
    out_chans: int = 3
    widths: tuple[int, ...] = (16, 32, 64, 128)
    groups: int = 8
    residual: bool = False
    code_dim: int = 0
    keyed: bool = True
    scrambler: ScramblerConfig = field(default_factory=ScramblerConfig)


class UNetGenerator(nn.Module):
    """Encoder–decoder with skip connections; ``forward(x, code=None)`` → image-shaped tensor."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.stem = DoubleConv(cfg.in_chans, w[0], cfg.groups)
        self.downs = nn.ModuleList(Down(w[i], w[i + 1], cfg.groups) for i in range(len(w) - 1))
        self.film = FiLM(cfg.code_dim, w[-1]) if cfg.code_dim else None
        self.ups = nn.ModuleList(Up(w[i + 1], w[i], w[i], cfg.groups) for i in reversed(range(len(w) - 1)))
        self.head = nn.Conv2d(w[0], cfg.out_chans, 1)
        if cfg.residual:  # start as the identity
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def code_dim(self) -> int:
        return self.cfg.code_dim

    def forward(self, x: torch.Tensor, code: torch.Tensor | None = None) -> torch.Tensor:
        h = self.stem(x)
        skips = [h]
        for down in self.downs:
            h = down(h)
            skips.append(h)
        if self.film is not None:
            if code is None:
                raise ValueError("this generator is conditioned on a code; pass one")
            h = self.film(h, code)
        skips.pop()
        for up in self.ups:
            h = up(h, skips.pop())
        out = self.head(h)
        return out + x[:, : self.cfg.out_chans] if self.cfg.residual else torch.sigmoid(out)


# --- checkpoint filter ----------------------------------------------------------------------------


def checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (``module.``, ``gx.``, ``gy.``, ``_orig_mod.``) from a state dict."""
    out = {}
    for k, v in state_dict.items():
        for prefix in ("module.", "_orig_mod.", "gx.", "gy."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


# --- configs --------------------------------------------------------------------------------------

model_cfgs: dict[str, UNetConfig] = {
    "gx_unet_s": UNetConfig(widths=(16, 32, 64, 128), residual=False),
    "gy_unet_s": UNetConfig(widths=(16, 32, 64, 128), residual=True),
    "gx_unet_m": UNetConfig(widths=(32, 64, 128, 256), residual=False),
    "gy_unet_m": UNetConfig(widths=(32, 64, 128, 256), residual=True),
}


def _build(name: str, role: str, pin: Mapping[str, Any] | None = None, **kwargs: Any) -> nn.Module:
    cfg = replace(model_cfgs[name], **kwargs)
    if isinstance(cfg.scrambler, Mapping):
        cfg = replace(cfg, scrambler=ScramblerConfig(**cfg.scrambler))
    cfg = replace(cfg, widths=tuple(cfg.widths))
    net = UNetGenerator(cfg)
    scrambler = BandScrambler(cfg.scrambler) if cfg.keyed else None
    return wrap_generator(net, role, scrambler, pin)


# --- registered constructors ----------------------------------------------------------------------


@register_model
def gx_unet_s(**kwargs: Any) -> nn.Module:
    """GX, small U-Net (~0.5 M parameters), keyed by default."""
    return _build("gx_unet_s", "gx", **kwargs)


@register_model
def gy_unet_s(**kwargs: Any) -> nn.Module:
    """GY, small residual U-Net, keyed by default."""
    return _build("gy_unet_s", "gy", **kwargs)


@register_model
def gx_unet_m(**kwargs: Any) -> nn.Module:
    """GX, medium U-Net (~2 M parameters)."""
    return _build("gx_unet_m", "gx", **kwargs)


@register_model
def gy_unet_m(**kwargs: Any) -> nn.Module:
    """GY, medium residual U-Net."""
    return _build("gy_unet_m", "gy", **kwargs)
