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
from pathlib import Path

__all__ = ["export_generator_onnx", "export_gx_with_key_inputs"]


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
