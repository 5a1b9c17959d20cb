"""GY in a sealed bundle, in both of its forms, opened in memory by a key holder.

* ``gy`` (torch): a safetensors file (never pickle) whose metadata is that of
  :func:`~recanon_sdk.models.weights.save_model` plus ``deployment_secret`` (hex, 32 bytes) in
  ``extra``; :func:`seal_gy` makes one from a trained GY, :func:`open_sealed_gy` opens it.
* ``gy-onnx`` (ONNX Runtime, no torch): GY exported with the deployment key inside
  (:func:`seal_gy_onnx`, :func:`open_sealed_gy_onnx`).

Every bundle is signed with the deployment's device key; the openers check that signature against
the deployment before they decrypt anything, and never write the weights or the secret to disk.

>>> import recanon_keys as rk
>>> from recanon_sdk.models import create_model
>>> alice, cam = rk.generate_holder("alice"), rk.generate_device_key("cam")
>>> dep = rk.create_deployment("lobby", device_key=cam, holders=[alice.public])
>>> gy = create_model("gy_unet_s")
>>> bundle = seal_gy(gy, "gy_unet_s", bytes(32), deployment=dep, device_key=cam, input_size=(128, 64))
>>> gy = open_sealed_gy(bundle, alice, dep)
>>> gy.input_size
(128, 64)
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import recanon_keys as rk

if TYPE_CHECKING:
    from torch import nn

    from recanon_sdk.models.recover import GYRecoverer
    from recanon_sdk.runtime.onnx_generator import OnnxGenerator

__all__ = [
    "GY_MODEL_NAME",
    "GY_ONNX_MODEL_NAME",
    "open_sealed_gy",
    "open_sealed_gy_onnx",
    "open_sealed_gy_with_secret",
    "seal_gy",
    "seal_gy_onnx",
]

#: The model format of a sealed ``gy`` payload (as :mod:`recanon_sdk.models.state` reads it).
FORMAT = "recanon-model/1"
GY_ONNX_MODEL_NAME = "gy-onnx"
GY_ONNX_MODEL_VERSION = "1"
GY_MODEL_NAME = "gy"
GY_MODEL_VERSION = "1"


def seal_gy(
    model: nn.Module,
    arch: str,
    deployment_secret: bytes,
    *,
    deployment: rk.Deployment,
    device_key: rk.DeviceKey,
    input_size: tuple[int, int],
    kwargs: Mapping[str, Any] | None = None,
) -> bytes:
    """GY's weights and the deployment secret as one sealed bundle (bytes) for ``deployment``'s holders,
    signed by its ``device_key`` (without which no holder accepts it)."""
    if len(deployment_secret) != 32:
        raise ValueError("the deployment secret is 32 bytes")
    from safetensors.torch import save as save_safetensors

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {
        "format": FORMAT,
        "arch": arch,
        "kwargs": json.dumps(dict(kwargs or {}), sort_keys=True),
        "input_size": json.dumps(list(input_size)),
        "extra": json.dumps({"deployment_secret": deployment_secret.hex()}, sort_keys=True),
    }
    payload = save_safetensors(state, metadata=meta)
    return rk.seal(
        payload,
        deployment=deployment,
        model_name=GY_MODEL_NAME,
        model_version=GY_MODEL_VERSION,
        device_key=device_key,
    )


def _metadata(payload: bytes) -> dict[str, str]:
    if len(payload) < 8:
        raise rk.InvalidFormat("the sealed GY is not a safetensors file")
    (length,) = struct.unpack_from("<Q", payload)
    try:
        header = json.loads(payload[8 : 8 + length])
    except ValueError:
        raise rk.InvalidFormat("the sealed GY is not a safetensors file") from None
    return dict(header.get("__metadata__") or {})


def open_sealed_gy(
    bundle: bytes | str | os.PathLike[str],
    holder: rk.HolderKey,
    deployment: rk.Deployment,
    *,
    device: str = "cpu",
    unsafe_allow_unsigned: bool = False,
) -> GYRecoverer:
    """Open a sealed GY bundle in memory and return a ready :class:`GYRecoverer` with its secret.

    The bundle must be signed by ``deployment``'s device (checked before anything is decrypted);
    an unsigned v1 bundle raises ``recanon_keys.AuthenticationFailed`` unless
    ``unsafe_allow_unsigned=True`` (then with a warning)."""
    return open_sealed_gy_with_secret(
        bundle, holder, deployment, device=device, unsafe_allow_unsigned=unsafe_allow_unsigned
    )[0]


def open_sealed_gy_with_secret(
    bundle: bytes | str | os.PathLike[str],
    holder: rk.HolderKey,
    deployment: rk.Deployment,
    *,
    device: str = "cpu",
    unsafe_allow_unsigned: bool = False,
) -> tuple[GYRecoverer, bytes | None]:
    """As :func:`open_sealed_gy`, also returning the deployment secret the bundle carries (``None`` for
    an unkeyed GY): what a key holder needs to key GX the same way, e.g. to evaluate this
    deployment's recovery (``recanon eval --bundle``). Both stay in memory."""
    payload = rk.open_sealed(
        bundle,
        holder,
        deployment=deployment,
        model_name=GY_MODEL_NAME,
        model_version=GY_MODEL_VERSION,
        unsafe_allow_unsigned=unsafe_allow_unsigned,
    )
    meta = _metadata(payload)
    if meta.get("format") != FORMAT:
        raise rk.InvalidFormat(f"the sealed GY has format {meta.get('format')!r}, expected {FORMAT!r}")
    extra = json.loads(meta.get("extra") or "{}")
    secret_hex = extra.get("deployment_secret")
    secret = bytes.fromhex(secret_hex) if isinstance(secret_hex, str) else None
    from safetensors.torch import load as load_safetensors

    from recanon_sdk.models.recover import GYRecoverer

    state = load_safetensors(payload)
    input_size = json.loads(meta.get("input_size") or "null")
    gy = GYRecoverer(
        state,
        secret,
        device=device,
        arch=meta["arch"],
        input_size=None if input_size is None else (int(input_size[0]), int(input_size[1])),
        model_kwargs=json.loads(meta.get("kwargs") or "{}"),
    )
    return gy, secret


def seal_gy_onnx(
    weights: str | Path,
    secret: bytes,
    *,
    deployment: object,
    device_key: object,
    opset: int = 17,
    half: bool = False,
) -> bytes:
    """Export GY keyed with ``secret`` and seal the ONNX bytes to ``deployment``'s holders (in memory),
    signed by its ``device_key``."""
    import recanon_keys as rk

    from recanon_sdk.export.generators import export_generator_onnx

    onnx_bytes = export_generator_onnx(weights, secret, opset=opset, half=half)
    return rk.seal(
        onnx_bytes,
        deployment=deployment,
        model_name=GY_ONNX_MODEL_NAME,
        model_version=GY_ONNX_MODEL_VERSION,
        device_key=device_key,
    )


def open_sealed_gy_onnx(
    bundle: bytes | str | os.PathLike[str],
    holder: object,
    deployment: object,
    *,
    unsafe_allow_unsigned: bool = False,
) -> OnnxGenerator:
    """Open a ``gy-onnx`` bundle in memory and return a ready generator (``recover`` = ``run``).

    The bundle's device signature is checked against ``deployment`` before anything is decrypted,
    so no model is loaded that the deployment's device did not seal; an unsigned v1 bundle raises
    ``recanon_keys.AuthenticationFailed`` unless ``unsafe_allow_unsigned=True`` (with a warning).
    """
    import recanon_keys as rk

    onnx_bytes = rk.open_sealed(
        bundle,
        holder,
        deployment=deployment,
        model_name=GY_ONNX_MODEL_NAME,
        model_version=GY_ONNX_MODEL_VERSION,
        unsafe_allow_unsigned=unsafe_allow_unsigned,
    )
    from recanon_sdk.runtime.onnx_generator import OnnxGenerator

    return OnnxGenerator(onnx_bytes)
