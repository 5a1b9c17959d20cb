"""The pose detector on ONNX Runtime: the same contract as :class:`PoseDetector`, without torch.

This module imports only NumPy, OpenCV and ONNX Runtime (plus recanon's own torch-free modules), so a
runtime-only install can anonymize with an exported model (``recanon export --format onnx``). What
happens around the network (letterbox, decode, NMS) is shared with the OpenVINO engine
(:mod:`recanon_sdk.detect.exported`, :mod:`recanon_sdk.detect.yolo_io`, whose names are re-exported here);
tiling and the zoom-out pass are inherited from :class:`PoseDetector`.

>>> detector = OnnxPoseDetector(DetectorConfig(), "exported/yolo11n-pose.onnx")  # doctest: +SKIP
>>> people = detector.detect([frame_rgb])[0]                                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recanon_sdk.detect.exported import ExportedPoseDetector, resolve_exported_model
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.yolo_io import MAX_CANDIDATES, POSE_ROW, Letterbox, decode_pose, letterbox, nms
from recanon_sdk.errors import ModelError

__all__ = [
    "AUTO_PROVIDERS",
    "MAX_CANDIDATES",
    "POSE_ROW",
    "Letterbox",
    "OnnxPoseDetector",
    "decode_pose",
    "letterbox",
    "nms",
    "resolve_providers",
]

logger = logging.getLogger("recanon.detect.onnx")

#: Execution providers in the order ``providers="auto"`` prefers them (those not available are skipped).
AUTO_PROVIDERS: tuple[str, ...] = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)
#: Short names accepted for providers (``--provider cuda``), besides the full ONNX Runtime names.
PROVIDER_ALIASES: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}
ProviderSpec = str | tuple[str, dict[str, Any]]


def resolve_providers(
    requested: str | Sequence[ProviderSpec] | None, device: str = "cpu"
) -> list[ProviderSpec]:
    """The execution providers to ask ONNX Runtime for, most preferred first.

    ``None`` follows ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"1"``); ``"auto"`` takes
    TensorRT, CUDA and CPU in that order, as far as this onnxruntime build has them; a name or alias
    (``"cuda"``, ``"tensorrt"``) or a list of names / ``(name, options)`` pairs is taken as given, with
    the CPU provider appended as the fallback.

    >>> resolve_providers(None, "cpu")
    ['CPUExecutionProvider']
    >>> resolve_providers(None, "cuda:1")
    [('CUDAExecutionProvider', {'device_id': 1}), 'CPUExecutionProvider']
    """
    import onnxruntime as ort

    if requested is None:
        text = device.strip().lower()
        if text in ("", "cpu"):
            return ["CPUExecutionProvider"]
        index = text.removeprefix("cuda").lstrip(":") or "0"
        if not index.isdigit():
            raise ModelError(f"device '{device}' is not 'cpu', 'cuda' or 'cuda:N'")
        return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
    available = ort.get_available_providers()
    if isinstance(requested, str) and requested.lower() == "auto":
        return [name for name in AUTO_PROVIDERS if name in available] or list(available)
    specs = [requested] if isinstance(requested, str) else list(requested)
    out: list[ProviderSpec] = []
    for spec in specs:
        name = spec[0] if isinstance(spec, tuple) else PROVIDER_ALIASES.get(spec.lower(), spec)
        if name not in available:
            raise ModelError(
                f"ONNX Runtime execution provider '{name}' is not available in this build "
                f"(available: {', '.join(available)})",
                hint="install onnxruntime-gpu for CUDA/TensorRT, or choose one of the available providers",
            )
        out.append((name, spec[1]) if isinstance(spec, tuple) else name)
    if "CPUExecutionProvider" not in [s[0] if isinstance(s, tuple) else s for s in out]:
        out.append("CPUExecutionProvider")
    return out


class OnnxPoseDetector(ExportedPoseDetector):
    """:class:`PoseDetector` with an exported ONNX model on ONNX Runtime instead of torch.

    ``model`` is a packaged name (``yolo11n-pose-onnx``, sha256 checked), a path to an ``.onnx``
    file, or its bytes. ``providers`` is as in :func:`resolve_providers`; ``threads`` sets ONNX
    Runtime's intra-op threads (``None``: its default, one per physical core); ``engine_batch`` the
    frames per network call (:class:`~recanon_sdk.detect.exported.ExportedPoseDetector`).
    ``config.weights`` is ignored: the model is ``model``.
    ``.weights`` describes the ONNX file (name, sha256) for the sidecar; ``.providers`` lists the
    execution providers the session actually uses.
    """

    backend = "onnx"
    engine = "onnxruntime"

    def __init__(
        self,
        config: DetectorConfig | None,
        model: str | Path | bytes,
        providers: str | Sequence[ProviderSpec] | None = None,
        *,
        threads: int | None = None,
        name: str | None = None,
        engine_batch: int = 1,
    ) -> None:
        import onnxruntime as ort

        self.config = config or DetectorConfig()
        self.engine_batch = engine_batch
        source, self.weights = resolve_exported_model(model, name)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ONNX Runtime plans memory per input shape and keeps every plan; the cadence's crops come in
        # many shapes. Without the plans the 768×576 corridor clip peaked at 354 MB instead of 407 MB,
        # no slower (3 alternating whole-process runs each, ``benchmarks/bench_peers.py``' clip).
        options.enable_mem_pattern = False
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        wanted = resolve_providers(providers, self.config.device)
        try:
            self._session = ort.InferenceSession(source, sess_options=options, providers=wanted)
        except Exception as error:  # onnxruntime raises its own exception types; report one sentence
            raise ModelError(f"could not load ONNX pose model '{self.weights.path}': {error}") from error
        self.providers: list[str] = self._session.get_providers()
        image_input = self._session.get_inputs()[0]
        self._input_name = image_input.name
        self._configure(
            self._session.get_modelmeta().custom_metadata_map,
            image_input.shape,
            np.float16 if image_input.type == "tensor(float16)" else np.float32,
        )
        self.precision = "f16" if self._input_dtype == np.float16 else "f32"  # as the model computes
        logger.info(
            "pose backend onnx: %s (sha256 %s…), onnxruntime providers %s",
            self.weights.name,
            self.weights.sha256[:12],
            ", ".join(self.providers),
        )

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input_name: batch})[0]
