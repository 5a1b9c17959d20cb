"""Pose read back from anonymized video, against the pose the camera wrote from the raw frames.

The deployment in the paper runs the pose estimator P on the *anonymized* video (the camera sends
only that). This measures how much of the pose survives, end to end on real clips: for each clip and
enhancer (blur, pixelate, the packaged GX under a random secret) the real pipeline anonymizes the
clip (libx264 CRF 23), then P runs on the decoded anonymized frames, and its people are compared with
the sidecar's (YOLO11n-pose on the raw frames: the teacher; confident, non-held people only):

* **found**: share of teacher people with a P detection at box IoU ≥ 0.5 (greedy, by IoU);
* **OKS**: COCO object keypoint similarity of the matched detection to the teacher's keypoints
  (teacher keypoints with confidence > 0.5 count; area = the teacher's box area), 0 for a miss;
* **OKS ≥ 0.5**: share of teacher people read back at OKS ≥ 0.5 (roughly, "pose usable").

P is the stock YOLO11n-pose and ``yolo11n-pose-gx`` (fine-tuned jointly with the packaged GX, then on
whole GX frames and portraits by ``research/configs/scene_portrait_pose.toml``), both in their packaged ONNX
form (the runtime install's backend); the raw row is the stock P on the raw decoded frames (the
ceiling: the same model as the teacher, without the codec). "unseen scenes" totals leave out the
clips whose scene ``research/configs/scene_pose.toml`` and
``research/configs/scene_portrait_pose.toml`` (P fine-tuned on whole anonymized frames,
``--pose RUN/pose.pt``) train on: classroom, and walking.mp4's corridor
(its own frames are left out of that training). ``--seed N`` fixes GX's secret, so two runs read the
same GX video.

    python benchmarks/pose_on_anonymized.py                    # walking.mp4 (90 frames) + 5 clips
    python benchmarks/pose_on_anonymized.py --frames 60 --clips walking --pose RUN/pose.pt
    python benchmarks/pose_on_anonymized.py --seed 1 --enhancers GX --gx RUN/gx.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.evaluation.metrics import oks
from recanon_sdk.geometry import box_iou
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar
from ultralytics.utils.metrics import OKS_SIGMA

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
INTEL = SHARED / "data" / "videos" / "intel"
CLIPS = {
    "walking": ROOT / "examples" / "walking.mp4",
    "face-demographics-walking": INTEL / "face-demographics-walking.gif",
    "walking-and-pause": INTEL / "face-demographics-walking-and-pause.gif",
    "classroom": INTEL / "classroom.gif",
    "store-aisle": INTEL / "store-aisle-detection.gif",
    "worker-zone": INTEL / "worker-zone-detection.gif",
}
#: Clips whose scenes research/configs/scene_pose.toml and scene_portrait_pose.toml train on (walking.mp4: its
#: corridor, other frames).
SEEN_BY_SCENE_POSE = {"walking", "classroom"}
TEACHER_SCORE = 0.5  # teacher people below this are too uncertain to score against
READ_CONF = 0.25  # what a consumer of the video would run P at (Ultralytics' defaults)
READ_SIZE = 640


def teacher_oks(teacher: np.ndarray, read: np.ndarray, area: float) -> float:
    """OKS of ``read`` (17, 3) against ``teacher`` (17, 3), counting the teacher keypoints with
    confidence > 0.5 (:func:`recanon_sdk.evaluation.metrics.oks`, COCO's sigmas).

    >>> k = np.zeros((17, 3)); k[:, 2] = 1
    >>> teacher_oks(k, k, 100.0), round(teacher_oks(k, k + [1, 0, 0], 1e6), 3)
    (1.0, 1.0)
    """
    visible = teacher.copy()
    visible[:, 2] = teacher[:, 2] > 0.5
    return oks(visible, read, area, OKS_SIGMA)


def score_frame(teacher: People, read: People) -> list[float]:
    """OKS per teacher person (0 = not found at IoU ≥ 0.5), greedy matching by IoU."""
    if not len(teacher):
        return []
    if not len(read):
        return [0.0] * len(teacher)
    iou = box_iou(teacher.xyxy, read.xyxy)
    out = [0.0] * len(teacher)
    used: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        t, r = divmod(int(flat), iou.shape[1])
        if iou[t, r] < 0.5:
            break
        if out[t] or r in used:
            continue
        used.add(r)
        x0, y0, x1, y1 = teacher.xyxy[t]
        out[t] = max(teacher_oks(teacher.keypoints[t], read.keypoints[r], float((x1 - x0) * (y1 - y0))), 1e-9)
    return out


def reader_label(weights: str) -> str:
    """A packaged name as is; a file as its run folder's name (``RUN/pose.pt`` → ``RUN``)."""
    path = Path(weights)
    return path.parent.name or path.stem if path.suffix in (".pt", ".onnx") else weights


def detect(reader, frames: list[np.ndarray]) -> list[People]:
    return [p for i in range(0, len(frames), 4) for p in reader.detect(frames[i : i + 4])]


def confident(people: People) -> People:
    """The teacher people scored against: confident, detected now, with a confident keypoint."""
    keep = (people.score >= TEACHER_SCORE) & (people.keypoints[:, :, 2] > 0.5).any(axis=1)
    if people.held is not None:
        keep &= ~people.held
    return people[keep]


def row(clip: str, method: str, values: list[float]) -> str:
    v = np.array(values)
    found, usable = np.mean(v > 0), np.mean(v >= 0.5)
    return f"{clip:26s} {method:34s} {len(v):6d} {found:6.1%} {np.mean(v):6.3f} {usable:8.1%}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=150, help="frames per clip (at most)")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument(
        "--enhancers", nargs="+", default=["blur", "pixelate", "GX"], choices=["blur", "pixelate", "GX"]
    )
    parser.add_argument("--pose", action="append", default=[], help="more P weights (.pt/.onnx) to read with")
    parser.add_argument(
        "--seed", type=int, help="derive GX's secret from this (same seed: same secret); default random"
    )
    parser.add_argument("--gx", type=Path, help="GX weights to try (.safetensors; default: the packaged GX)")
    args = parser.parse_args()
    secret = os.urandom(32)
    if args.seed is not None:
        secret = hashlib.sha256(b"pose_on_anonymized/%d" % args.seed).digest()
    enhancers = {
        "blur": AnonymizerConfig(enhancer="blur"),
        "pixelate": AnonymizerConfig(enhancer="pixelate"),
        "GX": AnonymizerConfig(
            enhancer="gx", model_secret=secret, gx_weights=None if args.gx is None else str(args.gx)
        ),
    }
    enhancers = {name: config for name, config in enhancers.items() if name in args.enhancers}
    readers = {
        reader_label(name): create_pose_detector(
            DetectorConfig(weights=name, imgsz=READ_SIZE, conf=READ_CONF, zoom_out=0)
        )
        for name in ["yolo11n-pose", "yolo11n-pose-gx", *args.pose]
    }
    detector = create_pose_detector(AnonymizerConfig().detector)  # the camera's detector (shared)
    scores: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            path = CLIPS[clip]
            if not path.is_file():
                print(f"skipping {clip}: {path} not found (../shared; set RECANON_SHARED)")
                continue
            raw = [f.image for f, _ in zip(VideoSource(path), range(args.frames), strict=False)]
            teacher_frames: list[People] | None = None
            for name, config in enhancers.items():
                out = Path(tmp) / f"{clip}.{name}.mp4"
                result = Anonymizer(config, detector=detector).process_video(
                    path, out, max_frames=args.frames
                )
                teachers = [confident(f.people) for f in Sidecar(result.sidecar).frames()]
                teacher_frames = teacher_frames or teachers
                frames = [f.image for f in VideoSource(out)]
                for reader_name, reader in readers.items():
                    got = detect(reader, frames)
                    cells = scores.setdefault((clip, f"{name} → {reader_name}"), [])
                    for t, r in zip(teachers, got, strict=True):
                        cells.extend(score_frame(t, r))
            assert teacher_frames is not None
            got = detect(readers["yolo11n-pose"], raw)
            scores[(clip, "raw → yolo11n-pose")] = [
                s for t, r in zip(teacher_frames, got, strict=True) for s in score_frame(t, r)
            ]
            print(f"{clip}: {len(raw)} frames, {sum(len(t) for t in teacher_frames)} teacher people "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    print(f"\n{'clip':26s} {'video → P':34s} {'people':>6s} {'found':>6s} {'OKS':>6s} {'OKS≥0.5':>8s}")
    totals: dict[str, list[float]] = {}
    held_out: dict[str, list[float]] = {}
    for (clip, method), values in sorted(scores.items()):
        totals.setdefault(method, []).extend(values)
        if clip not in SEEN_BY_SCENE_POSE:
            held_out.setdefault(method, []).extend(values)
        print(row(clip, method, values))
    for name, table in (("all clips", totals), ("unseen scenes", held_out)):
        print()
        for method, values in sorted(table.items()):
            print(row(name, method, values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
