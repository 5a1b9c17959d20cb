"""What ``recanon eval`` measures on a portrait set: pose (OKS, OKS AP), pixels (PSNR/SSIM), intervals.

Face detection and identity linkage come from :mod:`recanon_sdk.metrics.faces` (YuNet, dlib's
embedder) and :mod:`recanon_sdk.metrics.linkage`; here are the pose and pixel figures:

* :func:`oks_ap` — COCO keypoint AP and AP50 (pycocotools) of the pose model's people against one
  reference person per portrait: the ground truth, or :func:`teacher_keypoints` (P on the raw
  portrait) for unlabelled crops, optionally over the body alone (:func:`body_keypoints_only`);
* :func:`oks` — the object keypoint similarity of one pose to another;
* :func:`psnr_ssim` — PSNR and SSIM against the raw portraits;
* :func:`bootstrap_draws` and :func:`bootstrap_interval` — 95 % intervals over portraits, from the
  same draws for every method so that rows compare pairwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "KEYPOINT_SETS",
    "body_keypoints_only",
    "bootstrap_draws",
    "bootstrap_interval",
    "oks",
    "oks_ap",
    "psnr_ssim",
    "teacher_keypoints",
]

#: The keypoints OKS can be scored on (``EvalConfig.keypoints``).
KEYPOINT_SETS = ("all", "body")


def body_keypoints_only(truth: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """The reference keypoints with the five face keypoints (nose, eyes, ears) marked absent, so
    that OKS is scored over the 12 body keypoints; a person left with none becomes ``None``.

    >>> kp = np.tile([[10.0, 20.0, 2.0]], (17, 1))
    >>> out = body_keypoints_only([kp, None])
    >>> out[0][:5, 2].tolist(), int((out[0][:, 2] > 0).sum()), out[1]
    ([0.0, 0.0, 0.0, 0.0, 0.0], 12, None)
    """
    out: list[np.ndarray | None] = []
    for kp in truth:
        if kp is None:
            out.append(None)
            continue
        body = np.array(kp, dtype=np.float64, copy=True)
        body[:5, 2] = 0
        out.append(body if (body[:, 2] > 0).any() else None)
    return out


def teacher_keypoints(raw_predictions: list[Any]) -> list[np.ndarray | None]:
    """P's own best prediction on each raw portrait as ground truth (keypoints with conf ≥ 0.5)."""
    truth = []
    for people in raw_predictions:
        if not len(people):
            truth.append(None)
            continue
        best = int(np.argmax(people.score))
        kp = people.keypoints[best].astype(np.float64).copy()
        kp[:, 2] = np.where(kp[:, 2] >= 0.5, 2, 0)
        truth.append(kp if (kp[:, 2] > 0).sum() >= 4 else None)
    return truth


def oks(ref_kpts: np.ndarray, kpts: np.ndarray, area: float, sigmas: np.ndarray) -> float:
    """COCO object keypoint similarity of ``kpts`` to ``ref_kpts`` ((17, 3) pixels + visibility of
    the reference): mean over visible reference keypoints of ``exp(−d² / (2 · area · (2σ)²))``.

    >>> truth = np.zeros((17, 3)); truth[:, 2] = 2
    >>> moved = truth.copy(); moved[:, 0] += 5
    >>> sigmas = np.full(17, 0.05)
    >>> oks(truth, truth, 10_000.0, sigmas), round(oks(truth, moved, 10_000.0, sigmas), 3)
    (1.0, 0.882)
    """
    vis = ref_kpts[:, 2] > 0
    if not vis.any():
        return float("nan")
    d2 = ((ref_kpts[:, :2] - kpts[:, :2]) ** 2).sum(1)
    e = d2 / (2 * max(area, 1e-6) * (2 * sigmas) ** 2)
    return float(np.exp(-e)[vis].mean())


def oks_ap(
    truth: list[np.ndarray | None],
    predictions: list[Any],
    size: tuple[int, int],
    order: Sequence[int] | None = None,
) -> tuple[float, float]:
    """COCO keypoint AP and AP50 (pycocotools) of ``predictions`` against one person per portrait;
    ``order``: the portraits to use, by index, repeats allowed (a bootstrap draw)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(truth) != len(predictions):
        raise ValueError("one prediction list per portrait")
    h, w = size
    images, annotations, results = [], [], []
    picked = range(len(truth)) if order is None else order
    for i, k in enumerate(picked):
        kp, people = truth[k], predictions[k]
        images.append({"id": i, "width": w, "height": h})
        if kp is None or not (kp[:, 2] > 0).any():
            continue
        visible = kp[kp[:, 2] > 0, :2]
        x0, y0 = visible.min(0)
        x1, y1 = visible.max(0)
        area = float(max(x1 - x0, 1) * max(y1 - y0, 1)) * 1.2  # keypoint extent: no segmentation here
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "area": area,
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "keypoints": [float(v) for v in kp.reshape(-1)],
                "num_keypoints": int((kp[:, 2] > 0).sum()),
            }
        )
        for j in range(len(people)):
            results.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "keypoints": [float(v) for v in people.keypoints[j].reshape(-1)],
                    "score": float(people.score[j]),
                }
            )
    if not annotations:
        return float("nan"), float("nan")
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if not results:
            return 0.0, 0.0
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def psnr_ssim(raw: Sequence[np.ndarray], crops: Sequence[np.ndarray]) -> tuple[float, float]:
    """PSNR (dB, of the mean squared error over every pixel of every crop) and mean SSIM of equally
    sized uint8 ``crops`` against ``raw``."""
    import torch

    from recanon_sdk.models.losses import ssim

    a = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    b = torch.from_numpy(np.stack(raw)).permute(0, 3, 1, 2).float() / 255
    mse = float(((a - b) ** 2).mean())
    return 10 * float(np.log10(1 / max(mse, 1e-12))), float(ssim(a, b))


def bootstrap_draws(n: int, resamples: int, seed: int = 0) -> np.ndarray:
    """``(resamples, n)`` portrait indices drawn with replacement: the same draws for every method of
    a source, so that their intervals (and differences) are paired.

    >>> bootstrap_draws(3, 2).shape
    (2, 3)
    """
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def bootstrap_interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of bootstrap ``values`` (NaN draws ignored).

    >>> np.round(bootstrap_interval(np.array([0.1, 0.2, np.nan, 0.3, 0.4]), level=0.5), 3).tolist()
    [0.175, 0.325]
    """
    finite = values[np.isfinite(values)]
    if not len(finite):
        return [float("nan"), float("nan")]
    tail = (1 - level) / 2
    return [float(np.quantile(finite, tail)), float(np.quantile(finite, 1 - tail))]
