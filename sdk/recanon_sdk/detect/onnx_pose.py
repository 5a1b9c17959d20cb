"""The pose detector on ONNX Runtime: the same contract as :class:`PoseDetector`, without torch.

This module imports only NumPy, OpenCV and ONNX Runtime (plus recanon's own torch-free modules), so a
runtime-only install can anonymize with an exported model (``recanon export --format onnx``). It does
what Ultralytics' predictor does around the network, in NumPy:

1. letterbox each RGB frame (aspect kept, grey 114 padding; the minimal stride-multiple rectangle when
   all frames of a call share one shape and the model has dynamic height/width, else a square),
2. run the session on the batch, whose output is ``(batch, 56, anchors)``: box centre x, y, width,
   height, the person score and 17 keypoints × (x, y, confidence), in input pixels,
3. keep rows above ``conf``, non-maximum suppression (greedy, IoU ``iou``), at most ``max_people``,
4. undo the letterbox and clip to the frame.

Tiling and the zoom-out pass are inherited from :class:`PoseDetector`, which calls ``_predict``.

>>> detector = OnnxPoseDetector(DetectorConfig(), "exported/yolo11n-pose.onnx")  # doctest: +SKIP
>>> people = detector.detect([frame_rgb])[0]                                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
from recanon_sdk.detect.weights import PACKAGED_WEIGHTS, ResolvedWeights, resolve_pose_weights
from recanon_sdk.errors import ModelError
from recanon_sdk.types import People

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
#: Values per anchor in the YOLO pose head output: 4 box + 1 score + 17 × 3 keypoints.
POSE_ROW = 4 + 1 + 17 * 3
#: Candidates kept for NMS, highest scores first (as Ultralytics' ``max_nms``).
MAX_CANDIDATES = 30000

ProviderSpec = str | tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one frame was placed in the network input: scale per axis and the top-left padding."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int
    width: int  # of the original frame
    height: int


def letterbox(
    image: np.ndarray, size: tuple[int, int], *, rect: bool, stride: int = 32
) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` (H, W, C) into ``size`` (h, w) keeping its aspect, pad with 114, centred.

    With ``rect`` the padding is only what makes each side a multiple of ``stride`` (as Ultralytics
    does for a batch of equal shapes), so the result may be smaller than ``size``.

    >>> out, box = letterbox(np.zeros((720, 1280, 3), np.uint8), (960, 960), rect=True)
    >>> out.shape, box.pad_y
    ((544, 960, 3), 2)
    """
    import cv2

    h, w = image.shape[:2]
    r = min(size[0] / h, size[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = size[1] - new_w, size[0] - new_h
    if rect:
        dw, dh = dw % stride, dh % stride
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114)
        )
    return image, Letterbox(new_w / w, new_h / h, left, top, w, h)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int) -> np.ndarray:
    """Indices kept by greedy NMS (highest score first; a box goes if its IoU with a kept one > threshold).

    >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5, 10).tolist()
    [0, 2]
    """
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        ix = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None
        )
        iy = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None
        )
        inter = ix * iy
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_pose(
    output: np.ndarray, placement: Letterbox, *, conf: float, iou: float, max_people: int
) -> People:
    """The people in one image's raw head output ``(56, anchors)``, in the original frame's pixels.

    >>> raw = np.zeros((56, 3), np.float32)
    >>> raw[:4, 0] = [50, 50, 20, 40]; raw[4, 0] = 0.9          # one person box at (40, 30)-(60, 70)
    >>> people = decode_pose(raw, Letterbox(1.0, 1.0, 0, 0, 100, 100), conf=0.2, iou=0.6, max_people=10)
    >>> people.xyxy.tolist(), len(people)
    ([[40.0, 30.0, 60.0, 70.0]], 1)
    """
    if output.ndim != 2 or output.shape[0] != POSE_ROW:
        raise ModelError(f"pose model output has shape {output.shape}, expected ({POSE_ROW}, anchors)")
    scores = output[4]
    candidates = np.flatnonzero(scores > conf)
    if not candidates.size:
        return People.empty()
    if candidates.size > MAX_CANDIDATES:
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")[:MAX_CANDIDATES]]
    rows = output[:, candidates].T.astype(np.float32)  # (n, 56)
    cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    keep = nms(xyxy, rows[:, 4], iou, max_people)
    xyxy, score = xyxy[keep], rows[keep, 4]
    keypoints = rows[keep, 5:].reshape(-1, 17, 3).copy()
    p = placement
    xyxy[:, [0, 2]] = ((xyxy[:, [0, 2]] - p.pad_x) / p.gain_x).clip(0, p.width)
    xyxy[:, [1, 3]] = ((xyxy[:, [1, 3]] - p.pad_y) / p.gain_y).clip(0, p.height)
    keypoints[:, :, 0] = ((keypoints[:, :, 0] - p.pad_x) / p.gain_x).clip(0, p.width)
    keypoints[:, :, 1] = ((keypoints[:, :, 1] - p.pad_y) / p.gain_y).clip(0, p.height)
    return People(xyxy=xyxy, score=score, keypoints=keypoints)


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


class OnnxPoseDetector(PoseDetector):
    """:class:`PoseDetector` with an exported ONNX model on ONNX Runtime instead of torch.

    ``model`` is a packaged name (``yolo11n-pose-onnx``, sha256 checked), a path to an ``.onnx``
    file, or its bytes. ``providers`` is as in :func:`resolve_providers`; ``threads`` sets ONNX
    Runtime's intra-op threads (``None``: its default, one per physical core). ``config.weights`` is
    ignored: the model is ``model``.
    ``.weights`` describes the ONNX file (name, sha256) for the sidecar; ``.providers`` lists the
    execution providers the session actually uses.
    """

    backend = "onnx"

    def __init__(
        self,
        config: DetectorConfig | None,
        model: str | Path | bytes,
        providers: str | Sequence[ProviderSpec] | None = None,
        *,
        threads: int | None = None,
        name: str | None = None,
    ) -> None:
        import onnxruntime as ort

        self.config = config or DetectorConfig()
        if isinstance(model, bytes | bytearray):
            source: str | bytes = bytes(model)
            digest = hashlib.sha256(source).hexdigest()
            self.weights = ResolvedWeights(
                name or "onnx-pose", Path("<memory>"), digest, "ONNX bytes in memory"
            )
        else:
            text = str(model)
            if text not in PACKAGED_WEIGHTS and not Path(text).expanduser().is_file():
                raise ModelError(
                    f"ONNX pose model '{model}' not found", hint="create it with: recanon export"
                )
            resolved = resolve_pose_weights(text)  # a packaged name (sha256 pinned) or a path
            source = str(resolved.path)
            self.weights = resolved if name is None else dataclasses.replace(resolved, name=name)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        wanted = resolve_providers(providers, self.config.device)
        try:
            self._session = ort.InferenceSession(source, sess_options=options, providers=wanted)
        except Exception as error:  # onnxruntime raises its own exception types; report one sentence
            raise ModelError(f"could not load ONNX pose model '{self.weights.path}': {error}") from error
        self.providers: list[str] = self._session.get_providers()
        self._check_model()
        logger.info(
            "pose backend onnx: %s (sha256 %s…), providers %s",
            self.weights.name,
            self.weights.sha256[:12],
            ", ".join(self.providers),
        )

    def _check_model(self) -> None:
        meta = self._session.get_modelmeta().custom_metadata_map
        task = meta.get("task", "pose")
        if task != "pose":
            raise ModelError(f"'{self.weights.path}' is a {task} model, not a pose model")
        if meta.get("kpt_shape", "[17, 3]").replace(" ", "") != "[17,3]":
            raise ModelError(
                f"'{self.weights.path}' has keypoints {meta['kpt_shape']}, expected COCO-17 [17, 3]"
            )
        stride = meta.get("stride", "32")
        self._stride = int(stride) if stride.isdigit() else 32
        image_input = self._session.get_inputs()[0]
        self._input_name = image_input.name
        self._input_dtype = np.float16 if image_input.type == "tensor(float16)" else np.float32
        batch, _, height, width = image_input.shape
        self._max_batch = batch if isinstance(batch, int) else None
        self._fixed_size = (height, width) if isinstance(height, int) and isinstance(width, int) else None
        if self._fixed_size and self.config.imgsz and self._fixed_size != (self.config.imgsz,) * 2:
            logger.warning(
                "ONNX model %s: fixed input %s×%s; imgsz %s is ignored (export it with dynamic axes)",
                self.weights.name,
                width,
                height,
                self.config.imgsz,
            )

    def _predict(self, images: list[np.ndarray], imgsz: int, conf: float) -> list[People]:
        target = self._fixed_size or (imgsz, imgsz)
        rect = self._fixed_size is None and len({image.shape for image in images}) == 1
        boxed = [letterbox(image, target, rect=rect, stride=self._stride) for image in images]
        step = self._max_batch or len(boxed)
        out: list[People] = []
        for start in range(0, len(boxed), step):
            chunk = boxed[start : start + step]
            h, w = chunk[0][0].shape[:2]
            batch = np.empty((len(chunk), 3, h, w), np.float32)
            for i, (image, _) in enumerate(chunk):
                batch[i] = image.transpose(2, 0, 1)
            batch /= 255.0
            raw = self._session.run(None, {self._input_name: batch.astype(self._input_dtype, copy=False)})[0]
            for row, (_, placement) in zip(raw, chunk, strict=True):
                out.append(
                    decode_pose(
                        row,
                        placement,
                        conf=conf,
                        iou=self.config.iou,
                        max_people=self.config.max_people,
                    )
                )
        return out
