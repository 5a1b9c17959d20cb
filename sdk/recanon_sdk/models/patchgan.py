"""PatchGAN discriminators DX and DY (conditional, pix2pix style).

Paper: "Recoverable Anonymization for Pose Estimation" (arXiv 2409.02715) trains GX and GY as
conditional GANs with PatchGAN discriminators: DY judges (raw, privacy-enhanced) pairs against
(raw, conventionally desensitized) pairs, DX judges (enhanced, recovered) pairs against
(enhanced, raw) pairs. The PatchGAN is that of Isola et al., "Image-to-Image Translation with
Conditional Adversarial Networks" (CVPR 2017): a fully convolutional net whose every output logit
sees one N×N patch (70×70 for three stride-2 layers).

Origin: written for recanon from the paper; InstanceNorm, LeakyReLU(0.2). Licence: AGPL-3.0-or-later.

>>> import torch
>>> from recanon_sdk.models import create_model
>>> d = create_model("d_patchgan_s")
>>> d(torch.rand(2, 3, 128, 64), torch.rand(2, 3, 128, 64)).shape
torch.Size([2, 1, 14, 6])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from recanon_sdk.models.registry import register_model

__all__ = ["PatchGANConfig", "PatchGANDiscriminator", "checkpoint_filter_fn"]


class DiscBlock(nn.Sequential):
    """4×4 convolution → InstanceNorm (optional) → LeakyReLU(0.2)."""

    def __init__(self, in_chs: int, out_chs: int, stride: int, norm: bool = True) -> None:
        layers: list[nn.Module] = [nn.Conv2d(in_chs, out_chs, 4, stride=stride, padding=1, bias=not norm)]
        if norm:
            layers.append(nn.InstanceNorm2d(out_chs, affine=True))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        super().__init__(*layers)


@dataclass(frozen=True)
class PatchGANConfig:
    cond_chans: int = 3
    img_chans: int = 3
    base_width: int = 16
    num_layers: int = 3  # stride-2 layers; 3 → 70×70 receptive field


class PatchGANDiscriminator(nn.Module):
    """``forward(condition, image)`` → per-patch real/fake logits ``(B, 1, h, w)``."""

    def __init__(self, cfg: PatchGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.base_width
        layers: list[nn.Module] = [DiscBlock(cfg.cond_chans + cfg.img_chans, w, 2, norm=False)]
        chs = w
        for i in range(1, cfg.num_layers):
            nxt = w * min(2**i, 8)
            layers.append(DiscBlock(chs, nxt, 2))
            chs = nxt
        nxt = w * min(2**cfg.num_layers, 8)
        layers.append(DiscBlock(chs, nxt, 1))
        layers.append(nn.Conv2d(nxt, 1, 4, stride=1, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([condition, image], dim=1))


def checkpoint_filter_fn(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (``module.``, ``dx.``, ``dy.``)."""
    out = {}
    for k, v in state_dict.items():
        for prefix in ("module.", "_orig_mod.", "dx.", "dy."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


model_cfgs: dict[str, PatchGANConfig] = {
    "d_patchgan_s": PatchGANConfig(base_width=16, num_layers=3),
    "d_patchgan_m": PatchGANConfig(base_width=32, num_layers=3),
}


@register_model
def d_patchgan_s(**kwargs: Any) -> nn.Module:
    """Conditional PatchGAN, 16 base channels (~0.17 M parameters); used for both DX and DY."""
    return PatchGANDiscriminator(replace(model_cfgs["d_patchgan_s"], **kwargs))


@register_model
def d_patchgan_m(**kwargs: Any) -> nn.Module:
    """Conditional PatchGAN, 32 base channels (~0.7 M parameters)."""
    return PatchGANDiscriminator(replace(model_cfgs["d_patchgan_m"], **kwargs))
