"""A pose detector whose network is an exported YOLO pose graph (ONNX), whichever engine runs it.

:class:`ExportedPoseDetector` is :class:`~recanon_sdk.detect.pose.PoseDetector` (tiling and the zoom-out
pass come from there) with ``_predict`` done in NumPy around one engine call per batch
(:mod:`recanon_sdk.detect.yolo_io`): letterbox, run, decode. An engine subclass loads the model, calls
:meth:`ExportedPoseDetector._configure` with the model's metadata and input, and implements
:meth:`ExportedPoseDetector._infer`: :class:`~recanon_sdk.detect.onnx_pose.OnnxPoseDetector` (ONNX
Runtime) and :class:`~recanon_sdk.detect.openvino_pose.OpenVinoPoseDetector` (OpenVINO). Both see the
same inputs and decode the same way, so they differ only by the engine's arithmetic.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from recanon_sdk.detect.pose import PoseDetector
from recanon_sdk.detect.weights import PACKAGED_WEIGHTS, ResolvedWeights, resolve_pose_weights
from recanon_sdk.detect.yolo_io import decode_pose, input_batch, letterbox
from recanon_sdk.errors import ModelError
from recanon_sdk.types import People

logger = logging.getLogger("recanon.detect.exported")


def resolve_exported_model(
    model: str | Path | bytes, name: str | None = None
) -> tuple[str | bytes, ResolvedWeights]:
    """What an engine loads (a path, or the bytes themselves) and what the sidecar records about it.

    ``model`` is a packaged name (``yolo11n-pose-onnx``, sha256 checked), a path to an ``.onnx`` file,
    or its bytes; ``name`` overrides the recorded name.

    >>> source, weights = resolve_exported_model(b"not really a model", name="mine")
    >>> weights.name, weights.sha256[:12], source[:10]
    ('mine', '29a6a9f19463', b'not really')
    """
    if isinstance(model, bytes | bytearray):
        data = bytes(model)
        digest = hashlib.sha256(data).hexdigest()
        return data, ResolvedWeights(name or "onnx-pose", Path("<memory>"), digest, "ONNX bytes in memory")
    text = str(model)
    if text not in PACKAGED_WEIGHTS and not Path(text).expanduser().is_file():
        raise ModelError(f"ONNX pose model '{model}' not found", hint="create it with: recanon export")
    resolved = resolve_pose_weights(text)  # a packaged name (sha256 pinned) or a path
    weights = resolved if name is None else dataclasses.replace(resolved, name=name)
    return str(resolved.path), weights


class ExportedPoseDetector(PoseDetector):
    """:class:`PoseDetector` over an exported YOLO pose network; subclasses supply the engine.

    Subclasses set ``weights``, ``config``, ``engine``, ``providers``, ``precision`` and
    ``engine_batch``, call :meth:`_configure`, and implement :meth:`_infer`.

    ``engine_batch`` is how many frames go through the network per engine call (``detect`` takes any
    number and runs them in such chunks). The network's activations are held for every frame of a call:
    at 960 px (a 768×432 source) each frame in a call adds about 100 MB of peak memory on ONNX Runtime
    and 55 MB on OpenVINO bf16, while on 2 cores the whole pipeline ran no faster with 4 frames per
    call than with 1 (``benchmarks/bench_backends.py --batch 1 2 4``); hence 1 by default.
    """

    #: Frames per engine call (see the class docstring).
    engine_batch = 1

    backend = "onnx"
    #: The inference engine that runs the network (``onnxruntime`` or ``openvino``).
    engine = ""
    #: The arithmetic the network runs in: ``f32``, ``bf16`` (OpenVINO) or ``f16`` (an fp16 export).
    precision = "f32"
    providers: list[str]

    def _configure(
        self, metadata: Mapping[str, str], input_shape: Sequence[object], input_dtype: type = np.float32
    ) -> None:
        """Check the model is a COCO-17 pose model; note its stride, batch limit and fixed input size.

        ``metadata`` is the ONNX file's custom metadata (Ultralytics writes ``task``, ``kpt_shape``,
        ``stride``); ``input_shape`` is ``(batch, 3, height, width)`` with ints where fixed and anything
        else where dynamic.
        """
        task = metadata.get("task", "pose")
        if task != "pose":
            raise ModelError(f"'{self.weights.path}' is a {task} model, not a pose model")
        if metadata.get("kpt_shape", "[17, 3]").replace(" ", "") != "[17,3]":
            raise ModelError(
                f"'{self.weights.path}' has keypoints {metadata['kpt_shape']}, expected COCO-17 [17, 3]"
            )
        stride = metadata.get("stride", "32")
        self._stride = int(stride) if stride.isdigit() else 32
        self._input_dtype = input_dtype
        if len(input_shape) != 4:
            raise ModelError(f"'{self.weights.path}' takes input of shape {list(input_shape)}, expected NCHW")
        batch, _, height, width = input_shape
        self._max_batch = batch if isinstance(batch, int) and batch > 0 else None
        self._fixed_size = (
            (height, width) if isinstance(height, int) and isinstance(width, int) and height > 0 else None
        )
        if self._fixed_size and self.config.imgsz and self._fixed_size != (self.config.imgsz,) * 2:
            logger.warning(
                "pose model %s: fixed input %s×%s; imgsz %s is ignored (export it with dynamic axes)",
                self.weights.name,
                width,
                height,
                self.config.imgsz,
            )

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        """The raw head output ``(n, 56, anchors)`` for an input batch ``(n, 3, h, w)``."""
        raise NotImplementedError

    def _predict(
        self, images: list[np.ndarray], imgsz: int, conf: float, *, iou: float | None = None
    ) -> list[People]:
        iou = self.config.iou if iou is None else iou
        target = self._fixed_size or (imgsz, imgsz)
        rect = self._fixed_size is None and len({image.shape for image in images}) == 1
        boxed = [letterbox(image, target, rect=rect, stride=self._stride) for image in images]
        step = max(1, min(self._max_batch or len(boxed), self.engine_batch))
        out: list[People] = []
        for start in range(0, len(boxed), step):
            chunk = boxed[start : start + step]
            raw = self._infer(input_batch([image for image, _ in chunk], self._input_dtype))
            for row, (_, placement) in zip(raw, chunk, strict=True):
                out.append(decode_pose(row, placement, conf=conf, iou=iou, max_people=self.config.max_people))
        return out
