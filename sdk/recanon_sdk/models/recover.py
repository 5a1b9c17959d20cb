"""Recovery for key holders: GY with the deployment secret turns privacy-enhanced crops back.

>>> import numpy as np
>>> from recanon_sdk.models import create_model
>>> gy = create_model("gy_unet_s")
>>> rec = GYRecoverer(gy.state_dict(), bytes(32), arch="gy_unet_s", input_size=(128, 64))
>>> out = rec.recover([np.zeros((100, 50, 3), np.uint8)])
>>> out[0].shape, out[0].dtype
((100, 50, 3), dtype('uint8'))
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recanon_sdk.crops import batch_to_crops, crops_to_batch
from recanon_sdk.models.weights import DEFAULT_INPUT_SIZE as DEFAULT_INPUT_SIZE  # still importable here
from recanon_sdk.models.weights import load_keyed_generator

__all__ = ["GYRecoverer", "TorchGenerator", "crops_to_tensor", "recover_crops", "tensor_to_crops"]


def crops_to_tensor(crops: Sequence[np.ndarray], size: tuple[int, int] | None) -> torch.Tensor:
    """Stack uint8 RGB crops as a float ``(B, 3, H, W)`` batch in [0, 1], resized to ``size``.

    The resizing is :func:`recanon_sdk.crops.crops_to_batch`'s, shared with ONNX Runtime.
    """
    return torch.from_numpy(crops_to_batch(crops, size))


def tensor_to_crops(batch: torch.Tensor, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Inverse of :func:`crops_to_tensor`: resize each image back to its crop's shape, uint8 RGB."""
    return batch_to_crops(batch.detach().float().cpu().numpy(), shapes)


class TorchGenerator:
    """A keyed GX or GY on torch, run on uint8 RGB crops of any size (the torch twin of
    :class:`~recanon_sdk.export.generators.OnnxGenerator`).

    ``weights``: a ``.safetensors`` written by training (it names its architecture and training size)
    or a state dict plus ``arch``. ``deployment_secret``: the 32-byte secret whose key the model
    uses (``None`` only for an unkeyed model).
    """

    missing_secret = "this model is keyed per deployment: pass the 32-byte deployment secret"

    def __init__(
        self,
        weights: str | Path | Mapping[str, torch.Tensor],
        deployment_secret: bytes | None,
        device: str = "cpu",
        arch: str | None = None,
        input_size: tuple[int, int] | None = None,
        batch_size: int = 32,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        model, hw, torch_device, key = load_keyed_generator(
            weights,
            deployment_secret,
            device=device,
            arch=arch,
            input_size=input_size,
            model_kwargs=model_kwargs,
            missing_secret=self.missing_secret,
        )
        self.model = model
        self.input_size: tuple[int, int] = hw
        self.device = torch_device
        self.batch_size = batch_size
        self.key = key

    def with_secret(self, deployment_secret: bytes) -> TorchGenerator:
        """The same weights keyed with another deployment's secret (the weights are shared, not copied):
        how GY with a wrong secret is measured."""
        other = copy.copy(self)
        other.key = self.model.key_for_secret(deployment_secret, *self.input_size).to(self.device)
        return other

    @property
    def wants_heads(self) -> bool:
        """Whether the model is a head-pinned GX: :meth:`run` then takes each crop's head boxes."""
        return bool(getattr(self.model, "pins_heads", False))

    @torch.no_grad()
    def run(
        self, crops: list[np.ndarray], heads: Sequence[np.ndarray | None] | None = None
    ) -> list[np.ndarray]:
        """``(h, w, 3)`` uint8 RGB crops in, the model's crops of the same shapes out.

        ``heads``: for a head-pinned GX (:attr:`wants_heads`), each crop's head boxes in its own
        pixels (:func:`recanon_sdk.geometry.heads_in_regions`); ``None`` for a crop, or no ``heads``
        at all, pins that whole crop. Other models ignore it.
        """
        out: list[np.ndarray] = []
        for i in range(0, len(crops), self.batch_size):
            chunk = crops[i : i + self.batch_size]
            shapes = [c.shape for c in chunk]
            x = crops_to_tensor(chunk, self.input_size).to(self.device)
            if self.wants_heads:
                given = None if heads is None else heads[i : i + self.batch_size]
                mask = torch.from_numpy(self.model.pin.masks(given, shapes, self.input_size))
                y = self.model(x, self.key, mask.to(self.device))
            else:
                y = self.model(x, self.key)
            out.extend(tensor_to_crops(y, shapes))
        return out


class GYRecoverer(TorchGenerator):
    """Holds GY and a deployment's key; :meth:`recover` maps enhanced crops to recovered crops."""

    missing_secret = "this GY is keyed: pass the deployment secret"
    recover = TorchGenerator.run


def recover_crops(
    crops: list[np.ndarray],
    secret: bytes | None,
    gy_weights: str | Path | Mapping[str, torch.Tensor],
    device: str = "cpu",
) -> list[np.ndarray]:
    """One-shot recovery: ``GY(crops; key(secret))`` → crops of the same shapes (uint8 RGB)."""
    return GYRecoverer(gy_weights, secret, device=device).recover(crops)
