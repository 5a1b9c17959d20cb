"""GX and GY as ONNX, with the deployment key baked in (or, for GX, as inputs); GY only ever sealed.

A keyed generator needs the deployment's key (a permutation and signs derived from the model
secret). :func:`export_generator_onnx` holds that key as constants, so the ONNX file is specific to
one deployment and as sensitive as its secret (:func:`export_gx_with_key_inputs` instead takes the
key as inputs and holds no secret; :class:`OnnxGenerator` derives and feeds it): GX's file belongs
on the device only; GY's bytes are sealed to the holders at once (:func:`seal_gy_onnx`, model name
``gy-onnx``) and loaded from memory (``onnxruntime.InferenceSession(bytes)``), never written in
clear. Input ``portraits`` and output are float32 ``(batch, 3, H, W)`` in [0, 1], batch dynamic;
H × W is the training size (metadata ``input_size``). :class:`OnnxGenerator` runs either without
torch.

>>> import recanon_keys as rk                                                     # doctest: +SKIP
>>> onnx_bytes = export_generator_onnx("gx.safetensors", secret)                 # doctest: +SKIP
>>> OnnxGenerator(onnx_bytes).run([crop])[0].shape == crop.shape                  # doctest: +SKIP
True
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "GY_ONNX_MODEL_NAME",
    "OnnxGenerator",
    "export_generator_onnx",
    "export_gx_with_key_inputs",
    "open_sealed_gy_onnx",
    "seal_gy_onnx",
]

GY_ONNX_MODEL_NAME = "gy-onnx"
GY_ONNX_MODEL_VERSION = "1"


def export_generator_onnx(
    weights: str | Path, secret: bytes | None, *, opset: int = 17, half: bool = False
) -> bytes:
    """ONNX bytes of a GX or GY weights file, keyed with ``secret`` (``None`` for an unkeyed model).

    ``half`` computes in fp16 with fp32 input and output (ONNX Runtime's float16 converter,
    ``keep_io_types``): half the bytes, for GPUs and TensorRT; on the 2-core CPU it ran at the same
    speed and differed from fp32 by at most one grey level.
    """
    return _export(weights, secret, key_inputs=False, opset=opset, half=half)


def export_gx_with_key_inputs(weights: str | Path, *, opset: int = 17, half: bool = False) -> bytes:
    """ONNX bytes of a keyed GX that takes the deployment key as inputs instead of holding it.

    Inputs: ``portraits`` ``(batch, 3, H, W)`` float32, ``perm`` ``(1, N)`` int64 and ``signs``
    ``(1, N)`` float32 (and ``code`` ``(1, C)`` if the model has a code), from
    :func:`recanon_sdk.deployment_key.derive_key_arrays`; metadata ``recanon.key_inputs``,
    ``recanon.num_coefficients`` and ``recanon.code_dim`` say what to feed. One file serves every
    deployment and holds no secret (the packaged ``gx-unet-s-keyed-onnx`` is made this way);
    :class:`OnnxGenerator` derives the key from the model secret it is given.
    """
    return _export(weights, None, key_inputs=True, opset=opset, half=half)


def _export(weights: str | Path, secret: bytes | None, *, key_inputs: bool, opset: int, half: bool) -> bytes:
    import hashlib

    import onnx
    import torch

    from recanon_sdk.models.keyed import DeploymentKey
    from recanon_sdk.models.weights import load_model

    model, meta = load_model(weights)
    size = tuple(meta.get("input_size") or (128, 64))
    keyed = bool(getattr(model, "keyed", False))
    key = None
    if key_inputs and not (keyed and str(meta["arch"]).startswith("gx")):
        raise ValueError(f"{meta['arch']} is not a keyed GX: only a keyed GX takes its key as inputs")
    if keyed and not key_inputs:
        if secret is None:
            raise ValueError(f"{meta['arch']} is keyed: exporting it needs the deployment's model secret")
        key = model.key_for_secret(secret, *size)
    template = model.key_for_secret(bytes(32), *size) if key_inputs else None

    class Baked(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, portraits: torch.Tensor, *mask: torch.Tensor) -> torch.Tensor:
            given = None if key is None else key.expand(portraits.shape[0])
            return self.model(portraits, given, *mask)

    class KeyInputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, portraits: torch.Tensor, *key_parts: torch.Tensor) -> torch.Tensor:
            mask: tuple[torch.Tensor, ...] = ()
            if pins_heads:
                key_parts, mask = key_parts[:-1], key_parts[-1:]
            batch = portraits.shape[0]
            code = key_parts[2].expand(batch, -1) if len(key_parts) > 2 else None
            given = DeploymentKey(key_parts[0].expand(batch, -1), key_parts[1].expand(batch, -1), code)
            return self.model(portraits, given, *mask)

    example: tuple[torch.Tensor, ...] = (torch.rand(2, 3, *size),)
    names = ["portraits"]
    if template is not None:
        example += (template.perm, template.signs) + (() if template.code is None else (template.code,))
        names += ["perm", "signs"] + ([] if template.code is None else ["code"])
    pins_heads = bool(getattr(model, "pins_heads", False))
    dynamic = {"portraits": {0: "batch"}, "output": {0: "batch"}}
    if pins_heads:  # a head-pinned GX: where the heads are, per portrait (1 = pinned, or σ per pixel)
        example += (torch.ones(2, 1, *size),)
        names.append("pin_mask")
        dynamic["pin_mask"] = {0: "batch"}
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            (KeyInputs() if key_inputs else Baked()).eval(),
            example,
            buffer,
            input_names=names,
            output_names=["output"],
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if half:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        proto = convert_float_to_float16(proto, keep_io_types=True)
    facts = {
        "recanon.arch": str(meta["arch"]),
        "recanon.input_size": json.dumps(list(size)),
        "recanon.keyed": json.dumps(key is not None or template is not None),
        "recanon.precision": "fp16" if half else "fp32",
        "recanon.source_sha256": hashlib.sha256(Path(weights).read_bytes()).hexdigest(),
    }
    if pins_heads:
        facts["recanon.pin_block"] = str(model.scrambler.cfg.block)
        if model.pin.cfg.head_scale:
            facts["recanon.pin_head_scale"] = repr(model.pin.cfg.head_scale)
            facts["recanon.pin_whole_sigma"] = repr(model.pin.cfg.whole_sigma(*size))
    if template is not None:
        facts["recanon.key_inputs"] = json.dumps([n for n in names[1:] if n != "pin_mask"])
        facts["recanon.num_coefficients"] = str(template.perm.shape[1])
        facts["recanon.code_dim"] = str(0 if template.code is None else template.code.shape[1])
    for name, value in facts.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = name, value
    return proto.SerializeToString()


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
    return OnnxGenerator(onnx_bytes)


class OnnxGenerator:
    """Runs an exported GX or GY on uint8 RGB crops with onnxruntime (no torch needed).

    Crops of another size are resized (area/bilinear) to the model's input size and back, like
    :class:`~recanon_sdk.enhance.learned.LearnedEnhancer`.
    """

    name = "gx"
    weights_sha256: str | None = None

    def __init__(
        self,
        model: bytes | str | os.PathLike[str],
        providers: Sequence[str] | None = None,
        *,
        model_secret: bytes | None = None,
    ) -> None:
        import hashlib

        import onnxruntime as ort

        data = Path(model).read_bytes() if not isinstance(model, bytes | bytearray) else bytes(model)
        self.weights_sha256 = hashlib.sha256(data).hexdigest()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            data, options, providers=list(providers or ["CPUExecutionProvider"])
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        size = json.loads(meta.get("recanon.input_size", "[128, 64]"))
        self.input_size: tuple[int, int] = (int(size[0]), int(size[1]))
        self.arch = meta.get("recanon.arch", "")
        self._block = int(meta.get("recanon.pin_block", "8"))
        # a GX that sizes its blur to each head takes σ per block (models/pinned.py, head_scale)
        self._pin_sigma = {
            "head_scale": float(meta.get("recanon.pin_head_scale", "0")),
            "whole_sigma": float(meta.get("recanon.pin_whole_sigma", "1")),
        }
        #: Whether this is a head-pinned GX (it takes a ``pin_mask`` input): see :meth:`run`.
        self.wants_heads = any(i.name == "pin_mask" for i in self.session.get_inputs())
        self._key_feed: dict[str, np.ndarray] = {}
        key_inputs = json.loads(meta.get("recanon.key_inputs", "[]"))
        if key_inputs:
            from recanon_sdk.deployment_key import derive_key_arrays

            if model_secret is None:
                from recanon_sdk.errors import ModelError

                raise ModelError(
                    "this GX takes the deployment key as inputs: it needs the deployment's model secret",
                    hint="pass --deployment and --device-key (the secret is derived from the device key)",
                )
            perm, signs, code = derive_key_arrays(
                model_secret, int(meta["recanon.num_coefficients"]), int(meta.get("recanon.code_dim", "0"))
            )
            parts = {"perm": perm, "signs": signs, "code": code}
            self._key_feed = {name: parts[name][None] for name in key_inputs}  # type: ignore[index]

    def run(
        self,
        crops: Sequence[np.ndarray],
        heads: Sequence[np.ndarray | None] | None = None,
        batch_size: int = 32,
    ) -> list[np.ndarray]:
        """Crops in, the model's crops of the same shapes out; ``heads`` as for
        :meth:`recanon_sdk.models.recover.TorchGenerator.run` (only a head-pinned GX uses them)."""
        from recanon_sdk.enhance.portraits import batch_to_crops, crops_to_batch, head_pin_masks

        out: list[np.ndarray] = []
        for start in range(0, len(crops), batch_size):
            chunk = crops[start : start + batch_size]
            shapes = [c.shape for c in chunk]
            feed = {"portraits": crops_to_batch(chunk, self.input_size), **self._key_feed}
            if self.wants_heads:
                given = None if heads is None else heads[start : start + batch_size]
                feed["pin_mask"] = head_pin_masks(
                    given, shapes, self.input_size, self._block, **self._pin_sigma
                )
            out.extend(batch_to_crops(self.session.run(None, feed)[0], shapes))
        return out

    enhance = run  # the Enhancer protocol (GX)
    recover = run  # what the Recoverer calls (GY)
