"""The learned privacy models of recanon (arXiv 2409.02715 plus per-deployment keys).

* GX (:class:`KeyedEnhancer`): raw portrait → privacy-enhanced portrait.
* GY (:class:`KeyedRecoverer`): privacy-enhanced portrait → recovered portrait (key holders only).
* DX, DY: conditional PatchGAN discriminators.
* Generators: U-Net (``*_unet_*``) and ResNet (``*_resnet_*``).

>>> from recanon_sdk.models import list_models
>>> list_models("gx_*")
['gx_resnet_s', 'gx_unet_m', 'gx_unet_s']
"""

from __future__ import annotations

from recanon_sdk.models import patchgan, resnet_generator, unet  # noqa: F401  (registers the models)
from recanon_sdk.models.keyed import BandScrambler, DeploymentKey, KeyedEnhancer, KeyedRecoverer, derive_code
from recanon_sdk.models.recover import GYRecoverer, recover_crops
from recanon_sdk.models.registry import create_model, list_models, list_variants, register_model
from recanon_sdk.models.weights import load_model, save_model

__all__ = [
    "BandScrambler",
    "DeploymentKey",
    "GYRecoverer",
    "KeyedEnhancer",
    "KeyedRecoverer",
    "create_model",
    "derive_code",
    "list_models",
    "list_variants",
    "load_model",
    "recover_crops",
    "register_model",
    "save_model",
]
