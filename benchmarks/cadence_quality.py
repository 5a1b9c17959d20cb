"""What the cadence costs: pose and coverage with the detector on every N-th frame, against every frame.

For each clip, ``recanon``'s pipeline runs once with the full pose detector on every frame (the
reference) and once per ``--every`` and ``--crop-pose`` value with the cadence (the crop pass or
optical flow between full detections, :mod:`recanon_sdk.cadence`). Per person-frame of the
reference (people the detector found, not held regions), the cadence run's person with the largest
box overlap is compared:

* **OKS** of its keypoints against the reference's (COCO's per-keypoint sigmas, the reference box's
  area, keypoints the reference is sure of, confidence ≥ 0.5), the mean and the share ≥ 0.9;
* **coverage**: the share of reference people with ≥ 90 % of their box inside the cadence run's
  anonymized regions (the privacy side: a person carried badly shows through);
* the share of person-frames whose keypoints were estimated, the frames the motion gate forced to
  the detector, and the pipeline's frames per second (the SDK, in this process).

    python benchmarks/cadence_quality.py                         # the default: every 3, crop pass 8
    python benchmarks/cadence_quality.py --every 3 --clip examples/walking.mp4
    python benchmarks/cadence_quality.py --every 2 4 --crop-pose 0 8   # flow only, and the crop pass
    python benchmarks/cadence_quality.py --still-every 0 12     # the plain cadence, and still scenes
    python benchmarks/cadence_quality.py --look-area 0 0.25 0.5 # the look at motion in windows

Reads ``../shared/data/videos/intel`` (and the bundled sample).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

from coverage import CLIPS, SHARED  # the clips the coverage benchmark reads
from recanon_sdk.anonymizer import Anonymizer
from recanon_sdk.cadence import CadenceConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.enhance import Mask
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

#: COCO's keypoint sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                   0.107, 0.107, 0.087, 0.087, 0.089, 0.089])  # fmt: skip


def oks(candidate: np.ndarray, reference: np.ndarray, area: float) -> float | None:
    """COCO's object keypoint similarity over the keypoints the reference is sure of."""
    sure = reference[:, 2] >= 0.5
    if not sure.any() or area <= 0:
        return None
    d2 = ((candidate[:, :2] - reference[:, :2]) ** 2).sum(axis=1)
    return float(np.exp(-d2[sure] / (2 * area * (2 * SIGMAS[sure]) ** 2)).mean())


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(union, 1e-9)


def covered(box: np.ndarray, regions: np.ndarray, shape: tuple[int, int]) -> float:
    x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, [shape[1], shape[0], shape[1], shape[0]])
    if x1 <= x0 or y1 <= y0:
        return 1.0
    inside = np.zeros((y1 - y0, x1 - x0), bool)
    for rx0, ry0, rx1, ry1 in regions:
        inside[max(ry0 - y0, 0) : max(ry1 - y0, 0), max(rx0 - x0, 0) : max(rx1 - x0, 0)] = True
    return float(inside.mean())


def run(
    clip: Path,
    every: int,
    out: Path,
    detector,
    crop_pose: int = 0,
    crop_size: int = 256,
    still_px: float = 0.0,
    still_every: int = 0,
    look_area: float = 0.0,
) -> tuple[list, float]:
    anonymizer = Anonymizer(
        detector=detector,
        enhancer=Mask(),
        detect_every=every,
        crop_pose_people=crop_pose,
        crop_pose_size=crop_size,
        crop_pose_still_px=still_px,
        still_detect_every=still_every,
        motion_look_area=look_area,
    )
    started = time.perf_counter()
    result = anonymizer.process_video(clip, out, overwrite=True)
    return list(Sidecar(result.sidecar).frames()), result.frames / (time.perf_counter() - started)


def compare(reference: list, cadence: list, shape: tuple[int, int]) -> dict[str, float]:
    scores, hits, total, estimated, people = [], 0, 0, 0, 0
    for ref, cad in zip(reference, cadence, strict=True):
        seen = ref.people[~ref.people.held]
        people += len(cad.people[~cad.people.held])
        estimated += int(cad.people.estimated[~cad.people.held].sum())
        for box, keypoints in zip(seen.xyxy, seen.keypoints, strict=True):
            total += 1
            hits += covered(box, cad.people.region, shape) >= 0.9
            if not len(cad.people):
                continue
            overlap = iou(box, cad.people.xyxy)
            best = int(np.argmax(overlap))
            if overlap[best] < 0.3:
                continue
            area = float((box[2] - box[0]) * (box[3] - box[1]))
            value = oks(cad.people.keypoints[best], keypoints, area)
            if value is not None:
                scores.append(value)
    return {
        "person_frames": total,
        "coverage": hits / max(total, 1),
        "oks_mean": float(np.mean(scores)) if scores else float("nan"),
        "oks_ge_0.9": float(np.mean(np.array(scores) >= 0.9)) if scores else float("nan"),
        "estimated": estimated / max(people, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=int, nargs="+", default=[3])
    parser.add_argument(
        "--crop-pose",
        type=int,
        nargs="+",
        default=[8],
        help="the crop pass between full detections for up to this many people (0: optical flow only)",
    )
    parser.add_argument("--crop-size", type=int, default=256, help="the crop pass's largest input side")
    parser.add_argument(
        "--still-px",
        type=float,
        nargs="+",
        default=None,
        help="people whose tracked points moved less than this (px) skip the crop pass (0: none skip)",
    )
    parser.add_argument(
        "--still-every",
        type=int,
        nargs="+",
        default=None,
        help="the longest wait for the detector while nothing outside the regions changed (0: off)",
    )
    parser.add_argument(
        "--look-area",
        type=float,
        nargs="+",
        default=None,
        help="the largest share of the frame looked at in windows around uncovered motion (0: off)",
    )
    parser.add_argument("--clip", type=Path, action="append")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clips = args.clip or [SHARED / "data" / "videos" / "intel" / name for name in CLIPS]
    detector = create_pose_detector(DetectorConfig())
    rows = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "recanon-cadence"
    tmp.mkdir(exist_ok=True)
    stills = args.still_px if args.still_px is not None else [CadenceConfig().crop_pose_still_px]
    waits = args.still_every if args.still_every is not None else [CadenceConfig().still_detect_every]
    looks = args.look_area if args.look_area is not None else [CadenceConfig().motion_look_area]
    settings = [
        (every, crop, still, wait, look)
        for every in args.every
        for crop in args.crop_pose
        for still in stills
        for wait in waits
        for look in looks
    ]
    print(
        f"{'clip':44} {'every':>5} {'crop':>4} {'fps':>6} {'×':>5} {'coverage':>9} {'OKS':>6} "
        f"{'≥0.9':>6} {'estim.':>7}"
    )
    for clip in clips:
        reference, base_fps = run(clip, 1, tmp / "reference.mp4", detector)
        info = VideoSource(clip).info
        shape = (info.height, info.width)
        print(f"{clip.name[:44]:44} {1:5d} {base_fps:6.1f} {1.0:5.2f}")
        for every, crop, still, wait, look in settings:
            out = tmp / f"every{every}.mp4"
            frames, fps = run(clip, every, out, detector, crop, args.crop_size, still, wait, look)
            row = {"clip": clip.name, "every": every, "crop_pose": crop, "still_px": still}
            row.update(still_every=wait, look_area=look, fps=fps)
            row["speedup"] = fps / base_fps
            row.update(compare(reference, frames, shape))
            rows.append(row)
            print(
                f"{'':18} look {look:4.2f} still {still:3.1f} wait {wait:2d} {every:5d} {crop:4d} {fps:6.1f} "
                f"{row['speedup']:5.2f} {row['coverage']:9.1%} "
                f"{row['oks_mean']:6.3f} {row['oks_ge_0.9']:6.1%} {row['estimated']:7.1%}"
            )
    for setting in settings:
        every, crop, still, wait, look = setting
        keys = ("every", "crop_pose", "still_px", "still_every", "look_area")
        sub = [r for r in rows if tuple(r[k] for k in keys) == setting]
        weights = np.array([r["person_frames"] for r in sub], float)

        def mean(key: str, sub: list = sub, weights: np.ndarray = weights) -> float:
            return float(np.nansum([r[key] * w for r, w in zip(sub, weights, strict=True)]) / weights.sum())

        print(
            f"all clips, every {every}, crop pass {crop or 'off'}, still below {still} px, "
            f"still scenes wait {wait or 'off'}, looks in windows up to {look or 'off'}: "
            f"coverage {mean('coverage'):.1%}, "
            f"OKS {mean('oks_mean'):.3f}, "
            f"≥0.9 {mean('oks_ge_0.9'):.1%}, estimated {mean('estimated'):.1%}, "
            f"speed-up {np.mean([r['speedup'] for r in sub]):.2f}× (mean over clips)"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
