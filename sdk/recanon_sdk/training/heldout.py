"""Held-out measurements of a training run's GX/GY pair through a real codec.

``recanon eval`` compares every enhancer on labelled portrait sets; this module checks one training
run on the portraits its own config held out (:func:`held_out_portraits`), at the sizes it trained
at. ``python -m recanon_sdk.training.heldout RUN_DIR CONFIG.toml`` prints :func:`measure_run`'s JSON.

For raw portraits ``x`` (uint8 crops), a deployment secret ``s`` and a different secret ``s'``,
:func:`measure_pair` computes::

    y   = GX(x; s)                     LearnedEnhancer, uint8 out
    ỹ   = codec(y)                     real JPEG (OpenCV) at quality q, or libx264 (PyAV) at a CRF
    x̂   = GY(ỹ; s),  x̂' = GY(ỹ; s')    GYRecoverer with the right and a wrong secret

and reports PSNR / SSIM against ``x`` of: ``y`` (privacy: should stay < 30 dB and < 0.9), ``x̂``
(recovery), ``x̂'`` (should be no better than the blur), the σ-blur itself, and the codec alone on
the raw crops (the ceiling).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from recanon_sdk.enhance.learned import LearnedEnhancer
from recanon_sdk.models.codec import x264_encode, x264_roundtrip
from recanon_sdk.models.losses import gaussian_blur, psnr, ssim
from recanon_sdk.models.recover import GYRecoverer
from recanon_sdk.training.config import DataConfig

__all__ = ["held_out_portraits", "jpeg_roundtrip", "measure_pair", "measure_run", "pose_agreement"]


def jpeg_roundtrip(crops: Sequence[np.ndarray], quality: int) -> list[np.ndarray]:
    """Real libjpeg (OpenCV) encode/decode of uint8 RGB crops."""
    out = []
    for c in crops:
        ok, buf = cv2.imencode(".jpg", c[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        out.append(np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]))
    return out


def pose_agreement(
    pose: object, raw: Sequence[np.ndarray], processed: Sequence[np.ndarray]
) -> dict[str, float]:
    """How well the frozen pose model on ``processed`` crops agrees with itself on the ``raw`` crops.

    ``pose`` is a :class:`~recanon_sdk.models.pose_loss.YoloPoseLoss` (its teacher is used).
    Returns the mean OKS against the raw-crop prediction (crops where the raw prediction is a
    confident person) and the fraction of those crops where a person is still detected.
    """
    from ultralytics.utils.metrics import OKS_SIGMA

    from recanon_sdk.evaluation.metrics import oks

    ref = pose.pseudo_labels(_t(raw))  # type: ignore[attr-defined]
    got = pose.pseudo_labels(_t(processed))  # type: ignore[attr-defined]
    h, w = pose.cfg.input_size  # type: ignore[attr-defined]
    scale = np.array([w, h], np.float32)
    scores, found = [], []
    for i in range(len(raw)):
        if not bool(ref.valid[i]):
            continue
        rk, gk = ref.keypoints[i].numpy().copy(), got.keypoints[i].numpy().copy()
        rk[:, :2] *= scale
        gk[:, :2] *= scale
        area = float(ref.boxes[i, 2] * w * ref.boxes[i, 3] * h)
        found.append(bool(got.valid[i]))
        scores.append(oks(rk, gk, area, OKS_SIGMA) if got.valid[i] else 0.0)
    return {
        "oks": float(np.nanmean(scores)) if scores else float("nan"),
        "detected": float(np.mean(found or [0])),
    }


def _t(crops: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


def _scores(a: Sequence[np.ndarray], b: torch.Tensor) -> tuple[float, float]:
    ta = _t(a)
    return float(psnr(ta, b)), float(ssim(ta, b))


def measure_pair(
    gx_weights: str | Path,
    gy_weights: str | Path,
    crops: Sequence[np.ndarray],
    secret: bytes,
    wrong_secret: bytes,
    codec: str = "jpeg",
    quality: int = 90,
    blur_sigma: float = 5.0,
) -> dict[str, float]:
    """PSNR (dB) and SSIM against the raw crops.

    ``codec`` is ``jpeg`` (``quality`` = JPEG quality) or ``x264`` (``quality`` = CRF).
    """
    enh = LearnedEnhancer(gx_weights, secret)
    size = enh.input_size  # the weights' training size (or the default): never None
    crops = [cv2.resize(c, (size[1], size[0]), interpolation=cv2.INTER_AREA) for c in crops]
    raw = _t(crops)

    def roundtrip(cs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if codec == "jpeg":
            return jpeg_roundtrip(cs, quality)
        if codec == "x264":
            return x264_roundtrip(cs, quality)
        raise ValueError(f"unknown codec {codec!r}")

    y = enh.enhance(list(crops))
    y_c = roundtrip(y)
    right = GYRecoverer(gy_weights, secret).recover(y_c)
    wrong = GYRecoverer(gy_weights, wrong_secret).recover(y_c)
    blur = (gaussian_blur(raw, blur_sigma) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    res: dict[str, float] = {}
    for name, imgs in {
        "gx": y,
        "gx_after_codec": y_c,
        "gy_right": right,
        "gy_wrong": wrong,
        "blur": list(blur),
        "blur_after_codec": roundtrip(list(blur)),
        "raw_after_codec": roundtrip(crops),
    }.items():
        p, s = _scores(imgs, raw)
        res[f"psnr_{name}"], res[f"ssim_{name}"] = p, s
    return res


def face_count(crops: Sequence[np.ndarray], model: str | Path, upscale: int = 3, score: float = 0.8) -> int:
    """How many crops YuNet (``cv2.FaceDetectorYN``) finds a face in, after bicubic ``upscale``."""
    n = 0
    for im in crops:
        big = cv2.resize(im, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)[..., ::-1]
        det = cv2.FaceDetectorYN.create(str(model), "", (big.shape[1], big.shape[0]), score)
        _, faces = det.detect(np.ascontiguousarray(big))
        n += faces is not None and len(faces) > 0
    return n


def held_out_portraits(data: DataConfig, limit: int = 0) -> list[np.ndarray]:
    """The held-out split of ``data`` (the portraits training never saw) as ``(H, W, 3)`` uint8 RGB.

    ``limit`` > 0 keeps the first ``limit`` of them.
    """
    from recanon_sdk.training.data import PersonCrops, build_split_records

    records, _, held_out = build_split_records(data.sources, data.holdout)
    crops = PersonCrops(records, (int(data.size[0]), int(data.size[1])), data.margin, augment=False)
    held_out = held_out[:limit] if limit > 0 else held_out
    return [(crops[i]["image"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for i in held_out]


def measure_run(
    run: str | Path, config: str | Path, pose: bool = True, faces: bool = True
) -> dict[str, object]:
    """All held-out measurements of a training run folder (``gx.safetensors``, ``gy.safetensors``),
    on the held-out portraits of the run's config: PSNR/SSIM through JPEG q90, q75 and libx264 CRF 23,
    H.264 bytes, pose agreement of the frozen YOLO11n-pose and YuNet face counts."""
    from recanon_sdk.datasets import shared_data_dir
    from recanon_sdk.training.config import load_config

    run = Path(run)
    cfg = load_config(config)
    crops = held_out_portraits(cfg.data)
    secret, wrong = bytes(range(32)), bytes(range(100, 132))
    gx, gy = run / "gx.safetensors", run / "gy.safetensors"
    out: dict[str, object] = {"held_out_crops": len(crops)}
    for codec, q in (("jpeg", 90), ("jpeg", 75), ("x264", 23)):
        out[f"{codec}{q}"] = measure_pair(gx, gy, crops, secret, wrong, codec, q, cfg.loss.blur_sigma)
    y = LearnedEnhancer(gx, secret).enhance(crops)
    raw_t = _t(crops)
    blur = list((gaussian_blur(raw_t, cfg.loss.blur_sigma) * 255).round().byte().permute(0, 2, 3, 1).numpy())
    out["x264_crf23_bytes"] = {
        "raw": len(x264_encode(crops)),
        "gx": len(x264_encode(y)),
        "blur": len(x264_encode(blur)),
    }
    y_q = jpeg_roundtrip(y, 90)
    sets = {
        "raw_jpeg90": jpeg_roundtrip(crops, 90),
        "gx_jpeg90": y_q,
        "blur": blur,
        "gy_right_jpeg90": GYRecoverer(gy, secret).recover(y_q),
        "gy_wrong_jpeg90": GYRecoverer(gy, wrong).recover(y_q),
    }
    if pose:
        from recanon_sdk.models.pose_loss import YoloPoseLoss

        p = YoloPoseLoss()
        out["pose_agreement"] = {k: pose_agreement(p, crops, v) for k, v in sets.items()}
    yunet = shared_data_dir().parent / "models" / "face_detection_yunet_2026may.onnx"
    if faces and yunet.is_file():
        out["yunet_faces"] = {
            "raw": face_count(crops, yunet),
            **{k: face_count(v, yunet) for k, v in sets.items()},
        }
    return out


if __name__ == "__main__":  # python -m recanon_sdk.training.heldout RUN_DIR CONFIG.toml
    import json
    import os
    import sys

    os.environ.setdefault("YOLO_OFFLINE", "1")
    torch.set_num_threads(1)
    print(json.dumps(measure_run(sys.argv[1], sys.argv[2]), indent=1, default=float))
