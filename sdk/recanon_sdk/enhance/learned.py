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

from recanon_sdk.models.recover import TorchGenerator

__all__ = ["LearnedEnhancer"]


class LearnedEnhancer(TorchGenerator):
    """Privacy-enhances person crops with a trained GX.

    ``weights``: a ``gx.safetensors`` written by training (it names its
    architecture and training size) or a state dict plus ``arch``. ``deployment_secret``: the
    32-byte secret whose key scrambles the hidden recovery band; only GY with the same secret
    recovers. ``None`` is allowed only for an unkeyed GX (the paper's original, recoverable by any GY).
    Crops of another size are resized to :attr:`input_size` and back.
    """

    name = "gx"
    #: sha256 of the weights file, when known (recorded in the sidecar and the run manifest).
    weights_sha256: str | None = None
    missing_secret = "this GX is keyed per deployment: pass the 32-byte deployment secret"

    enhance = TorchGenerator.run  # the Enhancer protocol
