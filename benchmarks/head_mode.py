"""Head-only hiding (``region="head"``) against hiding whole people: faces left, pose kept.

``region="head"`` hides each person's head and leaves the body visible, for pose work where the
body's appearance is not identifying. This measures what it gives and what it costs next to the
whole-person enhancers, on the same inputs:

* clips with faces from ``../shared/data/videos/intel`` (``face-demographics-walking*.gif``,
  ``head-pose-face-detection-female-and-male.gif``: people walking up to the camera, seen from the
  waist up) and ``examples/walking.mp4`` (people seen whole, in a corridor): the real pipeline
  (``process_video``, libx264 CRF 23), with the default (video) detector;
* the 20 COCO photos of ``../shared/data/images/coco2014``: ``process_frame`` with the stills
  detector (``DetectorConfig.for_stills()``), then a libx264 CRF 23 round trip of the frame.

The camera's detector runs once per frame and every method sees the same people. Per method:

* **faces left**: YuNet (``../shared/models``) finds faces on the raw frames; a raw face counts as
  left when YuNet finds a face at IoU ≥ 0.3 with it on the anonymized frame (target ≤ 5 %). Two
  readings: on the whole frame at score ≥ 0.6 (as ``benchmarks/privacy_floor.py``, docs/metrics.md),
  and 2× upscaled at score ≥ 0.8 (:func:`recanon_sdk.evaluation.face_boxes`), which also finds the
  tiny faces of crowds;
* **OKS**: the stock YOLO11n-pose (packaged ONNX, 640 px, conf 0.25: what a consumer of the video
  runs) on the anonymized frames, against the camera's people on the raw frames (score ≥ 0.5, not
  held; keypoints with confidence > 0.5), matched greedily at box IoU ≥ 0.5, 0 for a miss
  (as ``benchmarks/pose_on_anonymized.py``); **found**: the share matched at all; the ``raw`` row
  is the same reader on raw frames;
* for head mode, **head known**: the share of hidden people whose head box came from the
  keypoints (the rest were hidden whole: head unknown, or a held region).

    python benchmarks/head_mode.py                 # clips + COCO photos
    python benchmarks/head_mode.py --sets clips --frames 30
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import warnings
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from privacy_floor import h264_round_trip  # the same codec round trip as the privacy floor
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.evaluation import face_boxes
from recanon_sdk.evaluation.metrics import oks
from recanon_sdk.geometry import box_iou, head_boxes
from recanon_sdk.policy import PrivacyWarning
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"
INTEL = SHARED / "data" / "videos" / "intel"
CLIPS = {
    "face-demographics-walking.gif": INTEL / "face-demographics-walking.gif",
    "face-demographics-walking-and-pause.gif": INTEL / "face-demographics-walking-and-pause.gif",
    "head-pose-face-detection-female-and-male.gif": INTEL / "head-pose-face-detection-female-and-male.gif",
    # people seen whole (the GIFs above show them from the waist up, close to the camera)
    "walking.mp4": ROOT / "examples" / "walking.mp4",
}
PHOTOS = SHARED / "data" / "images" / "coco2014"
#: COCO's keypoint sigmas (as Ultralytics' OKS_SIGMA), so that no torch is needed.
OKS_SIGMA = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07,
                      0.87, 0.87, 0.89, 0.89]) / 10.0  # fmt: skip
METHODS = {
    "blur (body)": {"enhancer": "blur"},
    "pixelate (body)": {"enhancer": "pixelate"},
    "mask (body)": {"enhancer": "mask"},
    "head: blur": {"enhancer": "blur", "region": "head"},
    "head: pixelate": {"enhancer": "pixelate", "region": "head"},
}
TEACHER_SCORE = 0.5


class Cached:
    """The camera's detector, run once per frame content; every method gets a copy of the same people."""

    def __init__(self, detector) -> None:
        self.detector, self.weights, self.cache = detector, detector.weights, {}

    def detect(self, images):
        out = []
        for image in images:
            key = hashlib.sha1(image.tobytes()).digest()
            if key not in self.cache:
                self.cache[key] = self.detector.detect([image])[0]
            people = self.cache[key]
            out.append(people[np.arange(len(people))])
        return out


def teacher(people: People) -> People:
    keep = (people.score >= TEACHER_SCORE) & (people.keypoints[:, :, 2] > 0.5).any(axis=1)
    return people[keep]


def score_frame(ref: People, read: People) -> list[float]:
    """OKS per reference person (0 = not found at IoU ≥ 0.5), greedy by IoU."""
    if not len(ref):
        return []
    if not len(read):
        return [0.0] * len(ref)
    iou = box_iou(ref.xyxy, read.xyxy)
    out, used = [0.0] * len(ref), set()
    for flat in np.argsort(-iou, axis=None):
        t, r = divmod(int(flat), iou.shape[1])
        if iou[t, r] < 0.5:
            break
        if out[t] or r in used:
            continue
        used.add(r)
        visible = ref.keypoints[t].copy()
        visible[:, 2] = visible[:, 2] > 0.5
        x0, y0, x1, y1 = ref.xyxy[t]
        out[t] = max(oks(visible, read.keypoints[r], float((x1 - x0) * (y1 - y0)), OKS_SIGMA), 1e-9)
    return out


class WholeFrameYuNet:
    """YuNet on the whole frame at score ≥ 0.6 (``benchmarks/privacy_floor.py``'s reading)."""

    def __init__(self) -> None:
        self._net = cv2.FaceDetectorYN.create(str(YUNET), "", (320, 320), 0.6, 0.3, 5000)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        self._net.setInputSize((w, h))
        _, faces = self._net.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        if faces is None:
            return np.zeros((0, 4), np.float32)
        boxes = faces[:, :4].copy()
        boxes[:, 2:] += boxes[:, :2]
        return boxes


def _left(before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    if not len(before) or not len(after):
        return len(before), 0
    return len(before), int((box_iou(before, after).max(axis=1) >= 0.3).sum())


@lru_cache(maxsize=1)
def whole_frame_yunet() -> WholeFrameYuNet:
    return WholeFrameYuNet()


def faces_left(raw: np.ndarray, out: np.ndarray) -> tuple[int, int, int, int]:
    """(raw faces, left) for the whole-frame reading, then for the 2× upscaled one."""
    whole = whole_frame_yunet()
    upscaled = face_boxes([raw, out], str(YUNET))
    return (*_left(whole(raw), whole(out)), *_left(*upscaled))


class Tally:
    def __init__(self) -> None:
        self.faces = self.left = self.faces2x = self.left2x = self.hidden = self.head_known = 0
        self.oks: list[float] = []

    def add(self, raw, out, ref, reader, people: People | None, head_mode: bool) -> None:
        found, left, found2x, left2x = faces_left(raw, out)
        self.faces += found
        self.left += left
        self.faces2x += found2x
        self.left2x += left2x
        self.oks += score_frame(ref, reader.detect([out])[0])
        if people is not None and head_mode and len(people):
            hidden = people.hidden
            known = np.isfinite(head_boxes(people.keypoints, people.xyxy)).all(axis=1)
            if people.held is not None:
                known &= ~people.held
            self.hidden += int(hidden.sum())
            self.head_known += int((hidden & known).sum())

    def row(self, name: str, method: str) -> str:
        rate = self.left / self.faces if self.faces else float("nan")
        rate2x = self.left2x / self.faces2x if self.faces2x else float("nan")
        v = np.array(self.oks) if self.oks else np.zeros(0)
        known = f"{self.head_known / self.hidden:6.1%}" if self.hidden else "     –"
        usable = np.mean(v >= 0.5) if len(v) else float("nan")
        found = np.mean(v > 0) if len(v) else float("nan")
        mean = v.mean() if len(v) else float("nan")
        return (
            f"{name[:28]:28s} {method:16s} {self.faces:5d} {self.left:5d} {rate:7.1%} "
            f"{self.faces2x:5d} {self.left2x:5d} {rate2x:7.1%} "
            f"{len(v):6d} {found:6.1%} {mean:6.3f} {usable:8.1%} {known}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=["clips", "photos"], choices=["clips", "photos"])
    parser.add_argument("--frames", type=int, default=75, help="frames per clip (at most)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    if not YUNET.is_file():
        print(f"YuNet not found at {YUNET} (set RECANON_SHARED)", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", PrivacyWarning)  # head mode is what is measured here
    reader = create_pose_detector(DetectorConfig(imgsz=640, conf=0.25, zoom_out=0))
    tallies: dict[tuple[str, str], Tally] = {}
    started = time.perf_counter()
    if "clips" in args.sets:
        camera = Cached(create_pose_detector(AnonymizerConfig().detector))
        with tempfile.TemporaryDirectory() as tmp:
            for clip, path in CLIPS.items():
                if not path.is_file():
                    print(f"skipping {clip}: not found (../shared; set RECANON_SHARED)")
                    continue
                raw = [f.image for f, _ in zip(VideoSource(path), range(args.frames), strict=False)]
                refs = [teacher(camera.detect([image])[0]) for image in raw]
                tallies[(clip, "raw")] = tally = Tally()
                for image, ref in zip(raw, refs, strict=True):
                    tally.add(image, image, ref, reader, None, False)
                for method in args.methods:
                    options = METHODS[method]
                    anon = Anonymizer(detector=camera, **options)
                    out_path = Path(tmp) / f"{clip}.{len(tallies)}.mp4"
                    result = anon.process_video(path, out_path, max_frames=args.frames)
                    poses = [f.people for f in Sidecar(result.sidecar).frames()]
                    outs = [f.image for f in VideoSource(out_path)]
                    tallies[(clip, method)] = tally = Tally()
                    for image, out, ref, people in zip(raw, outs, refs, poses, strict=True):
                        tally.add(image, out, ref, reader, people, "region" in options)
                print(f"{clip}: {len(raw)} frames ({time.perf_counter() - started:.0f} s)", flush=True)
    if "photos" in args.sets:
        camera = Cached(create_pose_detector(DetectorConfig.for_stills()))
        paths = sorted(PHOTOS.glob("*.jpg"))
        anonymizers = {
            m: Anonymizer(
                AnonymizerConfig(detector=DetectorConfig.for_stills()), detector=camera, **METHODS[m]
            )
            for m in args.methods
        }
        for path in paths:
            image = np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])
            ref = teacher(camera.detect([image])[0])
            tallies.setdefault(("coco2014 photos", "raw"), Tally()).add(
                image, image, ref, reader, None, False
            )
            for method, anon in anonymizers.items():
                anon.reset()
                out, people = anon.process_frame(image)
                tallies.setdefault(("coco2014 photos", method), Tally()).add(
                    image, h264_round_trip(out), ref, reader, people, "region" in METHODS[method]
                )
        print(f"coco2014: {len(paths)} photos ({time.perf_counter() - started:.0f} s)", flush=True)
    header = (
        f"\n{'input':28s} {'method':16s} {'faces':>5s} {'left':>5s} {'rate':>7s} "
        f"{'2×':>5s} {'left':>5s} {'rate':>7s} "
        f"{'people':>6s} {'found':>6s} {'OKS':>6s} {'OKS≥0.5':>8s} {'head known':>10s}"
    )
    print(header)
    totals: dict[str, Tally] = {}
    for (name, method), tally in tallies.items():
        print(tally.row(name, method))
        total = totals.setdefault(method, Tally())
        total.faces += tally.faces
        total.left += tally.left
        total.faces2x += tally.faces2x
        total.left2x += tally.left2x
        total.oks += tally.oks
        total.hidden += tally.hidden
        total.head_known += tally.head_known
    print()
    for method, tally in totals.items():
        print(tally.row("all", method))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
