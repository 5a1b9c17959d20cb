"""The learned enhancer: GX (arXiv 2409.02715, keyed per deployment) behind the Enhancer protocol.

>>> import numpy as np
>>> from recanon_sdk.models import create_model
>>> gx = create_model("gx_unet_s")
>>> enh = LearnedEnhancer(gx.state_dict(), bytes(32), arch="gx_unet_s")
>>> enh.name, enh.input_size
('gx', (128, 64))
>>> out = enh.enhance([np.zeros((128, 64, 3), np.uint8)])
>>> out[0].shape, out[0].dtype
((128, 64, 3), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recanon_sdk.models.recover import crops_to_tensor, tensor_to_crops
from recanon_sdk.models.weights import load_keyed_generator

__all__ = ["LearnedEnhancer"]


class LearnedEnhancer:
    """Privacy-enhances person crops with a trained GX.

    ``gx_weights_path_or_state``: a ``gx.safetensors`` written by training (it names its
    architecture and training size) or a state dict plus ``arch``. ``deployment_secret``: the
    32-byte secret whose key scrambles the hidden recovery band; only GY with the same secret
    recovers. ``None`` is allowed only for an unkeyed GX (the paper's original, recoverable by any GY).
    Crops of another size are resized to :attr:`input_size` and back.
    """

    name = "gx"
    #: sha256 of the weights file, when known (recorded in the sidecar and the run manifest).
    weights_sha256: str | None = None

    def __init__(
        self,
        gx_weights_path_or_state: str | Path | Mapping[str, torch.Tensor],
        deployment_secret: bytes | None,
        device: str = "cpu",
        arch: str | None = None,
        input_size: tuple[int, int] | None = None,
        batch_size: int = 32,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        model, hw, torch_device, key = load_keyed_generator(
            gx_weights_path_or_state,
            deployment_secret,
            device=device,
            arch=arch,
            input_size=input_size,
            model_kwargs=model_kwargs,
            missing_secret="this GX is keyed per deployment: pass the 32-byte deployment secret",
        )
        self.model = model
        self.input_size: tuple[int, int] | None = hw
        self.device = torch_device
        self.batch_size = batch_size
        self.key = key

    @torch.no_grad()
    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """``(h, w, 3)`` uint8 RGB crops in, privacy-enhanced crops of the same shapes out."""
        out: list[np.ndarray] = []
        for i in range(0, len(crops), self.batch_size):
            chunk = crops[i : i + self.batch_size]
            x = crops_to_tensor(chunk, self.input_size).to(self.device)
            out.extend(tensor_to_crops(self.model(x, self.key), [c.shape for c in chunk]))
        return out
