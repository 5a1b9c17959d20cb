"""GX and GY as ONNX, with the deployment key baked in; GY only ever as a sealed bundle.

A keyed generator needs the deployment's key (a permutation and signs derived from the model
secret). The exported graph holds that key as constants, so the ONNX file is specific to one
deployment and as sensitive as its secret: GX's file belongs on the device only; GY's bytes are
sealed to the holders at once (:func:`seal_gy_onnx`, model name ``gy-onnx``) and loaded from memory
(``onnxruntime.InferenceSession(bytes)``), never written in clear. Input ``portraits`` and output
are float32 ``(batch, 3, H, W)`` in [0, 1], batch dynamic; H × W is the training size (metadata
``input_size``). :class:`OnnxGenerator` runs either without torch.

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
    import onnx
    import torch

    from recanon_sdk.models.weights import load_model

    model, meta = load_model(weights)
    size = tuple(meta.get("input_size") or (128, 64))
    key = None
    if getattr(model, "keyed", False):
        if secret is None:
            raise ValueError(f"{meta['arch']} is keyed: exporting it needs the deployment's model secret")
        key = model.key_for_secret(secret, *size)

    class Keyed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, portraits: torch.Tensor) -> torch.Tensor:
            return self.model(portraits, None if key is None else key.expand(portraits.shape[0]))

    buffer = io.BytesIO()
    example = torch.rand(2, 3, *size)
    with torch.no_grad():
        torch.onnx.export(
            Keyed().eval(),
            (example,),
            buffer,
            input_names=["portraits"],
            output_names=["output"],
            dynamic_axes={"portraits": {0: "batch"}, "output": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if half:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        proto = convert_float_to_float16(proto, keep_io_types=True)
    for name, value in {
        "recanon.arch": str(meta["arch"]),
        "recanon.input_size": json.dumps(list(size)),
        "recanon.keyed": json.dumps(key is not None),
        "recanon.precision": "fp16" if half else "fp32",
    }.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = name, value
    return proto.SerializeToString()


def seal_gy_onnx(
    weights: str | Path, secret: bytes, *, deployment: object, opset: int = 17, half: bool = False
) -> bytes:
    """Export GY keyed with ``secret`` and seal the ONNX bytes to ``deployment``'s holders (in memory)."""
    import recanon_keys as rk

    onnx_bytes = export_generator_onnx(weights, secret, opset=opset, half=half)
    return rk.seal(
        onnx_bytes, deployment=deployment, model_name=GY_ONNX_MODEL_NAME, model_version=GY_ONNX_MODEL_VERSION
    )


def open_sealed_gy_onnx(
    bundle: bytes | str | os.PathLike[str], holder: object, deployment: object
) -> OnnxGenerator:
    """Open a ``gy-onnx`` bundle in memory and return a ready generator (``recover`` = ``run``)."""
    import recanon_keys as rk

    onnx_bytes = rk.open_sealed(
        bundle,
        holder,
        deployment=deployment,
        model_name=GY_ONNX_MODEL_NAME,
        model_version=GY_ONNX_MODEL_VERSION,
    )
    return OnnxGenerator(onnx_bytes)


class OnnxGenerator:
    """Runs an exported GX or GY on uint8 RGB crops with onnxruntime (no torch needed).

    Crops of another size are resized (area/bilinear) to the model's input size and back, like
    :class:`~recanon_sdk.enhance.learned.LearnedEnhancer`.
    """

    name = "gx"
    weights_sha256: str | None = None

    def __init__(self, model: bytes | str | os.PathLike[str], providers: Sequence[str] | None = None) -> None:
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

    def run(self, crops: Sequence[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
        import cv2

        h, w = self.input_size
        out: list[np.ndarray] = []
        for start in range(0, len(crops), batch_size):
            chunk = crops[start : start + batch_size]
            batch = np.empty((len(chunk), 3, h, w), np.float32)
            for i, crop in enumerate(chunk):
                shrink = crop.shape[0] > h
                resized = cv2.resize(
                    crop, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
                )
                batch[i] = resized.transpose(2, 0, 1) / 255.0
            result = self.session.run(None, {"portraits": batch})[0]
            for crop, image in zip(chunk, result, strict=True):
                pixels = (np.clip(image.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
                if pixels.shape[:2] != crop.shape[:2]:
                    pixels = cv2.resize(
                        pixels, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR
                    )
                out.append(pixels)
        return out

    enhance = run  # the Enhancer protocol (GX)
    recover = run  # what the Recoverer calls (GY)
