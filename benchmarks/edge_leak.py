"""Edge leak: how much of a person's original pixels survives inside their box when they touch a frame
border, for every enhancer.

Real frames of the shared walking-people footage are shifted so that each detected person touches
(and is cut by) the left, top, right and bottom border in turn; the person's box goes through the
anonymizer's geometry and enhancer, and the output inside the box is compared with the original and
with the enhancer's own rendering. Per pixel, ``out = a·original + (1 − a)·rendering``; ``a`` is the
fraction of original signal left (0 = fully replaced). It is estimated where original and rendering
differ by at least 24 grey levels, so rounding to 8 bits bounds its error at about 2 %.

Also printed, as asked of a leak measurement that does not know the rendering: the correlation of
the box's detail (Laplacian) with the original's, at the border and for the same person away from
it (a leak shows as a higher correlation at the border).

    python benchmarks/edge_leak.py                 # 12 frames with people, 4 borders, 4 enhancers
    python benchmarks/edge_leak.py --frames 30 --json edge.json

Reads ``../shared/data/videos/intel``; runs the packaged ONNX pose model to find the people.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.enhance import Blur, Mask, Pixelate, make_enhancer
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
CLIPS = ["one-by-one-person-detection.mp4", "face-demographics-walking.gif", "people-detection.gif"]
BORDERS = ("left", "top", "right", "bottom")
MIN_DIFFERENCE = 24


class Given:
    """A detector that returns the given boxes (so that only geometry and enhancer are measured)."""

    def __init__(self) -> None:
        self.people = People.empty()

    def detect(self, images: list[np.ndarray]) -> list[People]:
        return [self.people for _ in images]


class Recording:
    """Wraps an enhancer and keeps its renderings (what must fill the box)."""

    def __init__(self, inner: object) -> None:
        self.inner, self.returned = inner, []
        self.name, self.input_size = inner.name, inner.input_size
        self.wants_heads = getattr(inner, "wants_heads", False)

    def enhance(self, crops: list[np.ndarray], **kwargs: object) -> list[np.ndarray]:
        out = self.inner.enhance(crops, **kwargs)
        self.returned = [o.copy() for o in out]
        return out


def shift_to(image: np.ndarray, box: np.ndarray, border: str, cut: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` translated so that ``box`` is cut by ``border`` (``cut`` × its size outside); new box."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    dx = {"left": -(x0 + cut * (x1 - x0)), "right": w - x1 + cut * (x1 - x0)}.get(border, 0.0)
    dy = {"top": -(y0 + cut * (y1 - y0)), "bottom": h - y1 + cut * (y1 - y0)}.get(border, 0.0)
    matrix = np.float32([[1, 0, round(dx)], [0, 1, round(dy)]])
    moved = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    shifted = box + np.array([round(dx), round(dy), round(dx), round(dy)], np.float32)
    shifted[[0, 2]] = shifted[[0, 2]].clip(0, w)
    shifted[[1, 3]] = shifted[[1, 3]].clip(0, h)
    return moved, shifted


def laplacian_correlation(a: np.ndarray, b: np.ndarray) -> float:
    la = cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).ravel()
    lb = cv2.Laplacian(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).ravel()
    if la.std() < 1e-6 or lb.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(la, lb)[0, 1])


def measure(anonymizer: Anonymizer, given: Given, enhancer: Recording, image: np.ndarray, box: np.ndarray):
    """(max a, mean a, detail correlation with the original) inside ``box`` of ``image``."""
    given.people = People(xyxy=box[None], score=np.array([0.9], np.float32))
    anonymizer.reset()
    out, people = anonymizer.process_frame(image)
    unfeathered = CropGeometry(margin=anonymizer.config.geometry.margin, feather=0.0).paste(
        image, people.region, enhancer.returned
    )
    x0, y0, x1, y1 = np.floor(box[:2]).astype(int).tolist() + np.ceil(box[2:]).astype(int).tolist()
    o = out[y0:y1, x0:x1].astype(np.float64)
    raw = image[y0:y1, x0:x1].astype(np.float64)
    rendering = unfeathered[y0:y1, x0:x1].astype(np.float64)
    usable = np.abs(raw - rendering) >= MIN_DIFFERENCE
    alpha = np.where(usable, (o - rendering) / np.where(usable, raw - rendering, 1), 0.0)
    alpha = alpha.clip(0, 1)[usable]
    detail = laplacian_correlation(out[y0:y1, x0:x1], image[y0:y1, x0:x1])
    if not alpha.size:
        return 0.0, 0.0, detail
    return float(alpha.max()) + 0.0, float(alpha.mean()) + 0.0, detail


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=12, help="frames with people, over all clips")
    parser.add_argument("--cut", type=float, default=0.1, help="part of the box pushed out of the frame")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    detector = create_pose_detector(DetectorConfig())
    samples: list[tuple[str, np.ndarray, np.ndarray]] = []
    per_clip = max(1, args.frames // len(CLIPS))
    for clip in CLIPS:
        path = SHARED / "data" / "videos" / "intel" / clip
        if not path.exists():
            sys.exit(f"missing {path} (set RECANON_SHARED)")
        taken = 0
        for frame in VideoSource(path):
            if frame.index % 5:
                continue
            people = detector.detect([frame.image])[0]
            big = people[(people.score > 0.5) & ((people.xyxy[:, 3] - people.xyxy[:, 1]) > 60)]
            if len(big):
                samples.append((clip, frame.image, big.xyxy[int(np.argmax(big.score))]))
                taken += 1
            if taken >= per_clip:
                break
    enhancers = {
        "blur": Blur(),
        "pixelate": Pixelate(),
        "mask": Mask(),
        "gx": make_enhancer("gx", model_secret=bytes(range(32))),
    }
    rows = []
    print(f"{len(samples)} person boxes from {len(CLIPS)} clips, cut {args.cut:.0%} by each border\n")
    print(f"{'enhancer':9} {'border':7} {'max a':>7} {'mean a':>7} {'detail corr':>12} {'away':>6}")
    for name, inner in enhancers.items():
        given, recording = Given(), Recording(inner)
        anonymizer = Anonymizer(AnonymizerConfig(), detector=given, enhancer=recording)
        away = [measure(anonymizer, given, recording, image, box)[2] for _, image, box in samples]
        for border in BORDERS:
            results = [
                measure(anonymizer, given, recording, *shift_to(image, box, border, args.cut))
                for _, image, box in samples
            ]
            row = {
                "enhancer": name,
                "border": border,
                "max_fraction_original": max(r[0] for r in results),
                "mean_fraction_original": float(np.mean([r[1] for r in results])),
                "detail_correlation": float(np.mean([r[2] for r in results])),
                "detail_correlation_away": float(np.mean(away)),
                "boxes": len(results),
            }
            rows.append(row)
            print(
                f"{name:9} {border:7} {row['max_fraction_original']:7.1%} "
                f"{row['mean_fraction_original']:7.2%} {row['detail_correlation']:12.3f} "
                f"{row['detail_correlation_away']:6.3f}"
            )
    worst = max(r["max_fraction_original"] for r in rows)
    print(f"\nworst fraction of original signal left inside a person box: {worst:.1%}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
