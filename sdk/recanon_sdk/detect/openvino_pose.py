"""The pose detector on OpenVINO: the same contract and pre/post-processing as the ONNX Runtime one.

OpenVINO reads the same exported ONNX file (the packaged ``yolo11n-pose-onnx``, sha256 checked) and
runs it on the CPU in ``f32`` or ``bf16`` (:func:`~recanon_sdk.detect.engine.choose_precision`: bf16
where the CPU computes it natively, AVX512-BF16 or AMX). The precision is always set explicitly:
OpenVINO's own default on such CPUs is bf16, which would make ``f32`` runs differ between machines.

The network is compiled once per input height × width (the main pass and the zoom-out pass each have
one), with the batch size left dynamic; compiled models are kept for the last :data:`MAX_COMPILED`
input sizes.

>>> detector = OpenVinoPoseDetector(DetectorConfig(), "yolo11n-pose-onnx")  # doctest: +SKIP
>>> people = detector.detect([frame_rgb])[0]                                   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from recanon_sdk.detect.engine import choose_precision, openvino_native_bf16
from recanon_sdk.detect.exported import ExportedPoseDetector, resolve_exported_model
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.errors import ModelError

logger = logging.getLogger("recanon.detect.openvino")

#: Compiled models kept, one per input height × width (least recently used dropped first).
MAX_COMPILED = 4
#: OpenVINO's names of the precisions.
OV_PRECISION = {"f32": "f32", "bf16": "bf16"}


class OpenVinoPoseDetector(ExportedPoseDetector):
    """:class:`~recanon_sdk.detect.pose.PoseDetector` with an exported ONNX model on OpenVINO's CPU plugin.

    ``model`` is as for :class:`~recanon_sdk.detect.onnx_pose.OnnxPoseDetector` (a packaged name, an
    ``.onnx`` path or its bytes). ``precision`` is ``auto``, ``f32`` or ``bf16``; ``threads`` sets
    OpenVINO's inference threads (``None``: its default, one per core), ``engine_batch`` the frames per
    network call (:class:`~recanon_sdk.detect.exported.ExportedPoseDetector`). ``.precision`` is the
    precision in use, ``.providers`` the OpenVINO device (``["CPU"]``).
    """

    backend = "openvino"
    engine = "openvino"

    def __init__(
        self,
        config: DetectorConfig | None,
        model: str | Path | bytes,
        *,
        precision: str = "auto",
        threads: int | None = None,
        name: str | None = None,
        engine_batch: int = 1,
    ) -> None:
        import openvino as ov

        self.config = config or DetectorConfig()
        self.engine_batch = engine_batch
        if self.config.device.strip().lower() not in ("", "cpu"):
            raise ModelError(
                f"the openvino engine runs on the CPU only, not device '{self.config.device}'",
                hint="use engine onnxruntime for CUDA or TensorRT",
            )
        source, self.weights = resolve_exported_model(model, name)
        self.precision = choose_precision(precision, native_bf16=precision == "f32" or openvino_native_bf16())
        self.providers = ["CPU"]
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(source)
        except Exception as error:  # OpenVINO raises RuntimeError subclasses; report one sentence
            raise ModelError(f"could not load ONNX pose model '{self.weights.path}': {error}") from error
        # The ONNX file's metadata (Ultralytics' task, kpt_shape, stride) is under rt_info "framework".
        framework = self._model.get_rt_info()["framework"] if self._model.has_rt_info("framework") else {}
        metadata = {key: framework[key].astype(str) for key in framework}
        image_input = self._model.inputs[0]
        shape = [dim.get_length() if dim.is_static else None for dim in image_input.get_partial_shape()]
        dtype = np.float16 if image_input.get_element_type() == ov.Type.f16 else np.float32
        self._input_name = image_input.get_any_name()
        self._configure(metadata, shape, dtype)
        self._properties: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": OV_PRECISION[self.precision],
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
        }
        if threads is not None:
            self._properties["INFERENCE_NUM_THREADS"] = threads
        self._requests: OrderedDict[tuple[int, int], Any] = OrderedDict()
        logger.info(
            "pose backend openvino: %s (sha256 %s…), CPU %s",
            self.weights.name,
            self.weights.sha256[:12],
            self.precision,
        )

    def _request(self, height: int, width: int) -> Any:
        """The infer request of the model compiled for inputs of ``height`` × ``width``."""
        key = (height, width)
        if key in self._requests:
            self._requests.move_to_end(key)
            return self._requests[key]
        model = self._model.clone()
        model.reshape({self._input_name: [-1, 3, height, width]})
        try:
            compiled = self._core.compile_model(model, "CPU", self._properties)
        except Exception as error:
            raise ModelError(
                f"OpenVINO could not compile '{self.weights.path}' for {width}×{height} input: {error}"
            ) from error
        self._requests[key] = compiled.create_infer_request()
        while len(self._requests) > MAX_COMPILED:
            self._requests.popitem(last=False)
        return self._requests[key]

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        request = self._request(*batch.shape[2:])
        return request.infer({0: batch})[0]
