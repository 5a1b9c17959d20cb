"""GX and GY exported to ONNX, run on ONNX Runtime: what the runtime-only install (no torch) runs.

A generator file is made by :mod:`recanon_sdk.export.generators`; this module only runs one. Crops
are cut and resized with :mod:`recanon_sdk.crops`, like the torch models, so both backends see the
same pixels.

>>> OnnxGenerator("gx.onnx", model_secret=secret).run([crop])[0].shape == crop.shape  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["OnnxGenerator"]


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
        from recanon_sdk.crops import batch_to_crops, crops_to_batch, head_pin_masks

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
