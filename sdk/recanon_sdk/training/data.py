"""Training portraits: the configured sources' records, split per source, cut into augmented crops.

:func:`build_split_records` reads every :class:`~recanon_sdk.training.config.SourceConfig` into
:class:`~recanon_sdk.datasets.Record` objects (:mod:`recanon_sdk.datasets`) with a held-out split per
source; :class:`PersonCrops` cuts each record's box plus a margin out at the training size ``(H, W)``
(:func:`~recanon_sdk.portraits.crop_person`: the box expanded to that aspect ratio, pixels outside
the image replicating the edge), with augmentation (box jitter, horizontal flip with left/right
keypoint swap, brightness/contrast). A sample is a dict::

    image          float (3, H, W) in [0, 1]
    keypoints      float (17, 3): x, y in crop pixels, visibility (0 = absent)
    box            float (4,): the person box in crop pixels, x1 y1 x2 y2
    has_keypoints  bool: ground truth (or a video's pseudo-labels) present

>>> from recanon_sdk.datasets import synthetic_records
>>> ds = PersonCrops(synthetic_records(4, seed=0), size=(128, 64))
>>> s = ds.get(0, np.random.default_rng(0))
>>> tuple(s["image"].shape), tuple(s["keypoints"].shape), bool(s["has_keypoints"])
((3, 128, 64), (17, 3), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from recanon_sdk.datasets import (
    Record,
    coco_records,
    folder_records,
    mpii_records,
    split_indices,
    synthetic_records,
    video_records,
)
from recanon_sdk.portraits import crop_person

__all__ = ["COCO_FLIP_INDEX", "PersonCrops", "build_records", "build_split_records", "hflip"]

#: COCO-17 index → the index of its mirror image (left and right swapped).
COCO_FLIP_INDEX = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def build_records(sources: Sequence[object]) -> list[Record]:
    """Records of every configured :class:`~recanon_sdk.training.config.SourceConfig`."""
    return build_split_records(sources, 0.0)[0]


def build_split_records(
    sources: Sequence[object], holdout: float
) -> tuple[list[Record], list[int], list[int]]:
    """Records of every source and a (train, held-out) split of them made **per source**
    (:func:`split_indices` on each source's own records), so that adding a source to a config never
    moves another source's held-out samples into training: ``recanon eval --heldout`` splits a
    folder the same way whatever else a run trained on.

    >>> from recanon_sdk.training.config import SourceConfig
    >>> recs, train, held = build_split_records([SourceConfig(kind="synthetic", limit=10)] * 2, 0.2)
    >>> len(recs), len(train), [i for i in held if i >= 10] == [i + 10 for i in held if i < 10]
    (20, 16, True)
    """
    records: list[Record] = []
    train: list[int] = []
    held: list[int] = []
    for src in sources:
        recs = _source_records(src)
        kept, out = split_indices(len(recs), holdout) if recs else ([], [])
        train += [len(records) + i for i in kept]
        held += [len(records) + i for i in out]
        records.extend(recs)
    if not records:
        raise ValueError("the configured data sources hold no people")
    return records, train, held


def _source_records(src: object) -> list[Record]:
    kind, path, limit = src.kind, src.path, src.limit  # type: ignore[attr-defined]
    if kind != "synthetic" and not Path(path).exists():
        raise FileNotFoundError(f"{kind} data source {path} does not exist")
    if kind == "folder":
        recs = folder_records(path, limit)
    elif kind == "coco":
        recs = coco_records(path, src.images or None)  # type: ignore[attr-defined]
    elif kind == "mpii":
        recs = mpii_records(path, src.images or None)  # type: ignore[attr-defined]
    elif kind == "video":
        recs = video_records(path, src.frame_stride, limit)  # type: ignore[attr-defined]
    elif kind == "synthetic":
        recs = synthetic_records(limit or 64)
    else:
        raise ValueError(f"unknown data source kind {kind!r} (folder, coco, mpii, video, synthetic)")
    return recs[:limit] if limit else recs


# --- augmentation ---------------------------------------------------------------------------------


def hflip(
    img: np.ndarray, box: np.ndarray, keypoints: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a ``(H, W, C)`` crop, its box and its COCO-17 keypoints (left/right labels swap)."""
    w = img.shape[1]
    box = np.array([w - box[2], box[1], w - box[0], box[3]], np.float32)
    kp = keypoints[COCO_FLIP_INDEX].copy()
    kp[:, 0] = np.where(kp[:, 2] > 0, w - 1 - kp[:, 0], 0)
    return img[:, ::-1], box, kp


class PersonCrops(torch.utils.data.Dataset):
    """Portraits of ``records`` at ``size`` with optional augmentation (see the module docstring)."""

    def __init__(
        self,
        records: Sequence[Record],
        size: tuple[int, int] = (128, 64),
        margin: float = 0.15,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        self.records = list(records)
        self.size = (int(size[0]), int(size[1]))
        self.margin = margin
        self.augment = augment
        self.seed = seed

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.get(index, np.random.default_rng([self.seed, index]))

    def get(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        rec = self.records[index]
        jitter = (0.0, 0.0, 0.0)
        if self.augment:
            jitter = (rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), rng.uniform(-0.1, 0.1))
            if rec.fit == "shrink":  # a portrait already: zoom in only, never invent border pixels
                jitter = (jitter[0] * 0.3, jitter[1] * 0.3, -abs(jitter[2]))
        crop, m = crop_person(
            rec.load(), rec.box, self.size, self.margin if rec.fit == "expand" else 0.0, rec.fit, jitter
        )
        h, w = self.size
        kp = np.zeros((17, 3), np.float32)
        has = rec.keypoints is not None
        if has:
            kp = rec.keypoints.copy()
            kp[:, :2] = kp[:, :2] @ m[:, :2].T + m[:, 2]
            outside = (kp[:, 0] < 0) | (kp[:, 0] >= w) | (kp[:, 1] < 0) | (kp[:, 1] >= h)
            kp[outside | (kp[:, 2] <= 0)] = 0
        corners = np.array([[rec.box[0], rec.box[1]], [rec.box[2], rec.box[3]]]) @ m[:, :2].T + m[:, 2]
        box = np.clip(corners.reshape(-1), 0, [w, h, w, h]).astype(np.float32)
        img = crop.astype(np.float32) / 255
        if self.augment:
            if rng.random() < 0.5:
                img, box, kp = hflip(img, box, kp)
            gain, bias = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
            img = np.clip((img - 0.5) * gain + 0.5 + bias, 0, 1)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            "keypoints": torch.from_numpy(kp),
            "box": torch.from_numpy(box),
            "has_keypoints": torch.tensor(has and bool((kp[:, 2] > 0).any())),
        }
