"""Person records: COCO-style and MPII keypoint data sets, folders of crops, video, synthetic figures.

Every source yields :class:`Record` objects (an image loader, a person box in image pixels, optional
COCO-17 keypoints), read the same way by training (:mod:`recanon_sdk.training.data` cuts them into
augmented portraits) and by ``recanon eval`` (:func:`recanon_sdk.portraits.portrait_crops`).
:func:`split_indices` is the one (train, held-out) split both use, and :func:`shared_data_dir` the
data folder both default to.

>>> records = synthetic_records(2, seed=0)
>>> len(records), records[0].load().shape, records[0].keypoints.shape, records[0].source
(2, (160, 96, 3), (17, 3), 'synthetic')
>>> split_indices(10, 0.2)
([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "MPII_TO_COCO",
    "Record",
    "coco17_index",
    "coco_records",
    "folder_records",
    "mpii_records",
    "read_rgb",
    "shared_data_dir",
    "split_indices",
    "synthetic_records",
    "video_records",
]

#: MPII joint index → COCO-17 index (MPII has no eyes, ears or nose; pelvis, thorax, neck and head
#: top have no COCO counterpart).
MPII_TO_COCO = {0: 16, 1: 14, 2: 12, 3: 11, 4: 13, 5: 15, 10: 10, 11: 8, 12: 6, 13: 5, 14: 7, 15: 9}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
#: The COCO-17 keypoints in order, the skeleton every record is given in.
COCO_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip


def coco17_index(names: Sequence[str]) -> dict[int, int]:
    """Map a data set's keypoint names (its COCO-style ``categories[0].keypoints``) to COCO-17
    indices by name; names COCO-17 lacks (head top, neck, pelvis, fingers…) are left out. Spelling
    varies between data sets (``left_knee``, ``Left Knee``, ``Left-knee``), case and separators do not
    matter.

    >>> coco17_index(["Right Shoulder", "Right Elbow", "Head top", "Neck"])  # AI Challenger's order
    {0: 6, 1: 8}
    >>> coco17_index(["Right-ankle", "Pelvis", "left_wrist"])  # MHP's spelling, then CrowdPose's
    {0: 16, 2: 9}
    """
    index = {name: i for i, name in enumerate(COCO_KEYPOINT_NAMES)}
    out = {}
    for i, name in enumerate(names):
        key = "_".join(name.lower().replace("-", " ").replace("_", " ").split())
        if key in index:
            out[i] = index[key]
    return out


def _image_path(image_dir: Path, file_name: str) -> Path:
    """``image_dir / file_name`` if it exists, else the longest tail of ``file_name`` that exists
    under ``image_dir`` (data sets whose ``file_name`` carries the archive's own folders, e.g.
    HumanArt's ``HumanArt/images/real_human/…``), else ``image_dir / file_name`` (reading it then
    fails with its name)."""
    full = image_dir / file_name
    if full.exists():
        return full
    parts = Path(file_name).parts
    tails = (image_dir.joinpath(*parts[start:]) for start in range(1, len(parts)))
    return next((tail for tail in tails if tail.exists()), full)


def shared_data_dir() -> Path:
    """``$RECANON_SHARED/data``, default ``<repo>/../shared/data`` (may not exist)."""
    root = os.environ.get("RECANON_SHARED")
    if root:
        return Path(root) / "data"
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data"


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as ``(h, w, 3)`` uint8 RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@dataclass
class Record:
    """One person: how to get its image, its box (x1, y1, x2, y2) and keypoints (17, 3) or None.

    ``fit`` is ``expand`` (grow the box to the crop's aspect ratio) or ``shrink`` (for images that
    are already portraits: cut the box down to the aspect ratio instead of adding background).
    """

    load: Callable[[], np.ndarray]
    box: np.ndarray
    keypoints: np.ndarray | None = None
    fit: str = "expand"
    source: str = ""


@lru_cache(maxsize=64)
def _cached_rgb(path: str) -> np.ndarray:
    return read_rgb(path)


def _loader(path: Path, cache: bool = True) -> Callable[[], np.ndarray]:
    p = str(path)
    return (lambda: _cached_rgb(p)) if cache else (lambda: read_rgb(p))


# --- sources --------------------------------------------------------------------------------------


def coco_records(
    ann_file: str | Path, image_dir: str | Path | None = None, min_keypoints: int = 1
) -> list[Record]:
    """People of a COCO-style person-keypoints JSON (``iscrowd`` = 0, at least ``min_keypoints``
    labelled), in COCO-17. Other skeletons in the same format (CrowdPose, AI Challenger, MHP,
    ExLPose, HumanArt…) are mapped to the COCO-17 joints they share by the names in
    ``categories[0].keypoints`` (:func:`coco17_index`); a person is kept if at least
    ``min_keypoints`` of those shared joints are labelled."""
    ann_file = Path(ann_file)
    image_dir = Path(image_dir) if image_dir else ann_file.parent
    data = json.loads(ann_file.read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    paths: dict[object, Path] = {}  # image id → its file, looked up once per image
    names = next((c.get("keypoints") for c in data.get("categories", []) if c.get("keypoints")), None)
    out = []
    for a in data["annotations"]:
        if a.get("iscrowd", 0) or "keypoints" not in a:
            continue
        raw = np.asarray(a["keypoints"], dtype=np.float32).reshape(-1, 3)
        # by name (HumanArt lists 21 names but gives the first 17 here); unnamed: COCO-17 order
        shared = coco17_index(names[: raw.shape[0]]) if names else {}
        if shared:
            kp = np.zeros((17, 3), np.float32)
            for j, c in shared.items():
                kp[c] = raw[j]
        elif raw.shape[0] == 17:
            kp = raw
        else:
            continue
        if int((kp[:, 2] > 0).sum()) < min_keypoints:
            continue
        x, y, w, h = a["bbox"]
        if w < 4 or h < 4:
            continue
        box = np.array([x, y, x + w, y + h], dtype=np.float32)
        image_id = a["image_id"]
        if image_id not in paths:
            paths[image_id] = _image_path(image_dir, files[image_id])
        out.append(Record(_loader(paths[image_id]), box, kp, source=f"coco:{ann_file.name}"))
    return out


def mpii_records(ann_file: str | Path, image_dir: str | Path | None = None) -> list[Record]:
    """People of an MPII annotation JSON in the common (HRNet / mmpose) form: a list of
    ``{image, center, scale, joints[16][2], joints_vis[16]}``; ``scale`` × 200 px is the person height.
    Joints are mapped to the COCO-17 subset they share (:data:`MPII_TO_COCO`)."""
    ann_file = Path(ann_file)
    image_dir = Path(image_dir) if image_dir else ann_file.parent
    out = []
    for a in json.loads(ann_file.read_text()):
        joints = np.asarray(a["joints"], dtype=np.float32)
        vis = np.asarray(a.get("joints_vis", [1] * len(joints)), dtype=np.float32)
        kp = np.zeros((17, 3), np.float32)
        for m, c in MPII_TO_COCO.items():
            if vis[m] > 0 and joints[m, 0] > 0:
                kp[c] = (joints[m, 0], joints[m, 1], 2)
        cx, cy = a["center"]
        h = float(a["scale"]) * 200 / 1.25  # the MPII scale includes ~25 % context
        w = h * 0.5
        box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)
        out.append(Record(_loader(image_dir / a["image"]), box, kp, source=f"mpii:{ann_file.name}"))
    return out


def folder_records(root: str | Path, limit: int = 0) -> list[Record]:
    """Every image in ``root`` (sorted) is one person portrait without labels (e.g. INRIA crops)."""
    root = Path(root)
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit:
        paths = paths[:limit]
    out = []
    for p in paths:
        h, w = _image_size(p)
        out.append(
            Record(_loader(p), np.array([0, 0, w, h], np.float32), None, fit="shrink", source="folder")
        )
    return out


def _image_size(path: Path) -> tuple[int, int]:
    img = _cached_rgb(str(path))
    return img.shape[0], img.shape[1]


def video_records(
    video: str | Path,
    frame_stride: int = 10,
    limit: int = 0,
    detector: Callable[[np.ndarray], list[tuple[np.ndarray, np.ndarray]]] | None = None,
    min_height: int = 48,
) -> list[Record]:
    """People in a video, found by ``detector`` (default: the pretrained pose model), whose keypoints
    serve as pseudo-labels. ``detector(frame_rgb)`` → ``[(box_xyxy, keypoints (17, 3)), ...]``."""
    import av

    detector = detector or _yolo_detector()
    out: list[Record] = []
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % frame_stride:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            for box, kp in detector(rgb):
                if box[3] - box[1] < min_height:
                    continue
                out.append(
                    Record(lambda rgb=rgb: rgb, box.astype(np.float32), kp.astype(np.float32), source="video")
                )
            if limit and len(out) >= limit:
                break
    return out[:limit] if limit else out


def _yolo_detector(
    conf: float = 0.5, kpt_conf: float = 0.5
) -> Callable[[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    from recanon_sdk.models.pose_loss import default_pose_weights

    model = YOLO(str(default_pose_weights()))

    def detect(rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        res = model.predict(rgb[..., ::-1], conf=conf, verbose=False, device="cpu")[0]
        if res.keypoints is None or len(res.boxes) == 0:
            return []
        boxes = res.boxes.xyxy.cpu().numpy()
        kps = res.keypoints.data.cpu().numpy().copy()  # (n, 17, 3) x, y, conf
        kps[..., 2] = (kps[..., 2] >= kpt_conf) * 2.0
        return list(zip(boxes, kps, strict=True))

    return detect


# COCO-17 stick figure: limbs between keypoints.
_SKELETON = [
    (5, 7),
    (7, 9),
    (6, 8),
    (8, 10),
    (5, 6),
    (5, 11),
    (6, 12),
    (11, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
]


def synthetic_records(n: int, seed: int = 0, size: tuple[int, int] = (160, 96)) -> list[Record]:
    """``n`` generated portraits: a coloured stick figure with a head on a textured background, with
    exact COCO-17 keypoints. For tests and smoke runs where no real data is present."""
    rng = np.random.default_rng(seed)
    h, w = size
    out = []
    for _ in range(n):
        bg = rng.integers(40, 200, 3)
        img = np.clip(bg + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
        img = cv2.GaussianBlur(img, (0, 0), 2)
        cx, top = w / 2 + rng.uniform(-6, 6), h * 0.12
        unit = h * 0.76 / 7.5
        sway = rng.uniform(-1, 1, 8) * unit * 0.6
        kp = np.zeros((17, 3), np.float32)
        kp[0] = (cx, top + 0.5 * unit, 2)
        kp[1], kp[2] = (cx - 0.2 * unit, top + 0.35 * unit, 2), (cx + 0.2 * unit, top + 0.35 * unit, 2)
        kp[3], kp[4] = (cx - 0.45 * unit, top + 0.45 * unit, 2), (cx + 0.45 * unit, top + 0.45 * unit, 2)
        sy, hy = top + 1.5 * unit, top + 4.0 * unit
        kp[5], kp[6] = (cx + 0.9 * unit, sy, 2), (cx - 0.9 * unit, sy, 2)
        kp[7], kp[8] = (
            (cx + 1.2 * unit + sway[0], sy + 1.3 * unit, 2),
            (cx - 1.2 * unit + sway[1], sy + 1.3 * unit, 2),
        )
        kp[9], kp[10] = (kp[7, 0] + sway[2], sy + 2.5 * unit, 2), (kp[8, 0] + sway[3], sy + 2.5 * unit, 2)
        kp[11], kp[12] = (cx + 0.6 * unit, hy, 2), (cx - 0.6 * unit, hy, 2)
        kp[13], kp[14] = (
            (cx + 0.7 * unit + sway[4], hy + 1.8 * unit, 2),
            (cx - 0.7 * unit + sway[5], hy + 1.8 * unit, 2),
        )
        kp[15], kp[16] = (kp[13, 0] + sway[6], hy + 3.5 * unit, 2), (kp[14, 0] + sway[7], hy + 3.5 * unit, 2)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        for a, b in _SKELETON:
            cv2.line(img, tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2]), colour, 4)
        cv2.circle(
            img,
            (int(kp[0, 0]), int(kp[0, 1])),
            int(0.6 * unit),
            tuple(int(c) for c in rng.integers(0, 255, 3)),
            -1,
        )
        x1, y1 = kp[:, 0].min() - 4, top - 0.2 * unit
        x2, y2 = kp[:, 0].max() + 4, kp[:, 1].max() + 4
        out.append(
            Record(lambda img=img: img, np.array([x1, y1, x2, y2], np.float32), kp, source="synthetic")
        )
    return out


def split_indices(n: int, holdout: float, seed: int = 1234) -> tuple[list[int], list[int]]:
    """Deterministic (train, held-out) index split; at least one training sample."""
    perm = np.random.default_rng(seed).permutation(n)
    k = min(n - 1, math.floor(n * holdout)) if n > 1 else 0
    return sorted(perm[k:].tolist()), sorted(perm[:k].tolist())
