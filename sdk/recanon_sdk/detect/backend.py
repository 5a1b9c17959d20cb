"""Choose the pose backend: ``torch`` (Ultralytics) or ``onnx`` (ONNX Runtime), behind one interface.

Both return objects with ``.detect(images) -> list[People]`` and ``.weights``, which is all the
anonymizer uses, so its output does not depend on which one runs.

>>> choose_backend("auto", "exported/yolo11n-pose.onnx")
'onnx'
>>> choose_backend("auto", "yolo11n-pose")
'torch'
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.weights import ResolvedWeights
from recanon_sdk.errors import ModelError
from recanon_sdk.types import People

logger = logging.getLogger("recanon.detect")

Backend = Literal["auto", "torch", "onnx"]


class PoseBackend(Protocol):
    """What the anonymizer needs from a pose detector."""

    weights: ResolvedWeights

    def detect(self, images: list[np.ndarray]) -> list[People]: ...


def choose_backend(backend: Backend, model: str | Path | bytes) -> Literal["torch", "onnx"]:
    """``auto``: ONNX Runtime for an ``.onnx`` model (or bytes), torch otherwise; others as given.

    Raises :class:`~recanon_sdk.errors.ModelError` when the model and backend do not fit together or
    the backend's package is not installed.
    """
    is_onnx = isinstance(model, bytes | bytearray) or str(model).lower().endswith(".onnx")
    chosen = ("onnx" if is_onnx else "torch") if backend == "auto" else backend
    if chosen not in ("torch", "onnx"):
        raise ModelError(f"unknown pose backend '{backend}'", hint="use auto, torch or onnx")
    if chosen == "torch" and is_onnx:
        raise ModelError("the torch backend cannot run an .onnx model", hint="use --backend onnx or auto")
    if chosen == "onnx" and not is_onnx:
        raise ModelError(
            f"the onnx backend needs an exported .onnx model, got '{model}'",
            hint="export one with: recanon export --format onnx, then pass its path",
        )
    package = "onnxruntime" if chosen == "onnx" else "ultralytics"
    if importlib.util.find_spec(package) is None:
        raise ModelError(
            f"the {chosen} pose backend needs the Python package {package}, which is not installed"
        )
    return chosen


def create_pose_detector(
    config: DetectorConfig | None = None,
    backend: Backend = "auto",
    *,
    providers: str | Sequence[str] | None = None,
    threads: int | None = None,
) -> PoseBackend:
    """A pose detector for ``config.weights`` (a packaged name, a ``.pt`` or an ``.onnx`` path).

    ``providers`` and ``threads`` apply to the onnx backend only (see
    :class:`~recanon_sdk.detect.onnx_pose.OnnxPoseDetector`). Logs the backend in use at INFO.
    """
    config = config or DetectorConfig()
    if choose_backend(backend, config.weights) == "onnx":
        from recanon_sdk.detect.onnx_pose import OnnxPoseDetector

        return OnnxPoseDetector(config, config.weights, providers, threads=threads)  # type: ignore[arg-type]
    from recanon_sdk.detect.pose import PoseDetector

    detector = PoseDetector(config)
    logger.info(
        "pose backend torch: %s (sha256 %s…), device %s",
        detector.weights.name,
        detector.weights.sha256[:12],
        config.device,
    )
    return detector
