"""Coverage: the fraction of people whose region is anonymized in the output, on real footage.

Reference people come from the strongest detector setting available offline, run on the raw
frames: YOLO11n-pose at 1280 px plus 2×2 overlapping tiles (five inferences per frame), keeping
detections with confidence ≥ 0.35. The system under test is ``recanon anonymize`` with its
defaults (its sidecar records the exact anonymized regions). A reference person counts as covered
when at least ``--min-covered`` (default 90 %) of its box lies inside the union of the anonymized
regions of that frame. Reference boxes with fewer than ``--ref-min-keypoints`` (4) keypoints of
confidence ≥ 0.5 are dropped: tiling alone produces confident boxes on empty floor (seen on
people-detection.gif) that would count as misses.

    python benchmarks/coverage.py                      # all clips in ../shared/data/videos/intel
    python benchmarks/coverage.py --every 4 --json out.json

Prints one line per clip and the total; exits 1 if the total is below ``--target`` (99 %).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
CLIPS = [
    "one-by-one-person-detection.mp4",
    "face-demographics-walking.gif",
    "face-demographics-walking-and-pause.gif",
    "head-pose-face-detection-female-and-male.gif",
    "people-detection.gif",
    "classroom.gif",
    "store-aisle-detection.gif",
    "worker-zone-detection.gif",
    "person-bicycle-car-detection.gif",
]


def covered_fraction(box: np.ndarray, regions: np.ndarray, shape: tuple[int, int]) -> float:
    x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, [shape[1], shape[0], shape[1], shape[0]])
    if x1 <= x0 or y1 <= y0:
        return 1.0
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for rx0, ry0, rx1, ry1 in regions:
        mask[max(ry0, y0) - y0 : max(min(ry1, y1) - y0, 0), max(rx0, x0) - x0 : max(min(rx1, x1) - x0, 0)] = (
            True
        )
    return float(mask.mean())


def reference_cache(workdir: Path, clip: Path, every: int, conf: float) -> Path:
    """Where the reference detections of ``clip`` are cached (they cost five inferences per frame).

    Keyed by the clip's content (sha256), not its modification time, so a re-copied clip still hits.
    """
    from recanon_keys import file_digest

    digest = file_digest(clip).sha256[:16]
    return workdir / f"{clip.stem}.reference.{digest}.every{every}.conf{conf}.npz"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=int, default=4, help="check every Nth frame against the reference")
    parser.add_argument("--min-covered", type=float, default=0.9)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--ref-conf", type=float, default=0.35)
    parser.add_argument(
        "--ref-min-keypoints",
        type=int,
        default=4,
        help="a reference person needs this many keypoints with confidence ≥ 0.5 (tiles alone produce "
        "confident boxes on empty floor with 0–1 keypoints; 0 keeps every box)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse an existing anonymized output + sidecar in --workdir"
    )
    parser.add_argument(
        "--imgsz", type=int, help="the system under test's detector size (default: the default, auto)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/recanon-coverage"))
    parser.add_argument("clips", nargs="*", default=CLIPS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    reference = PoseDetector(DetectorConfig(imgsz=1280, tiles=(2, 2), conf=args.ref_conf))  # cached per clip
    config = AnonymizerConfig()  # the system under test: the defaults, or --imgsz
    if args.imgsz:
        config = replace(config, detector=replace(config.detector, imgsz=args.imgsz))
    anonymizer: Anonymizer | None = None
    rows, misses = [], []
    for name in args.clips:
        clip = SHARED / "data" / "videos" / "intel" / name
        if not clip.exists():
            print(f"skip {name}: not found under {SHARED}", file=sys.stderr)
            continue
        started = time.perf_counter()
        out = args.workdir / f"{Path(name).stem}.anon.mp4"
        if not (args.reuse and out.exists() and out.with_name(out.stem + ".pose.jsonl").exists()):
            anonymizer = anonymizer or Anonymizer(config)
            anonymizer.process_video(clip, out, overwrite=True)
        frames = {f.index: f for f in Sidecar(out.with_name(out.stem + ".pose.jsonl")).frames()}
        total = covered = 0
        cached = reference_cache(args.workdir, clip, args.every, args.ref_conf)
        found = dict(np.load(cached)) if cached.exists() else {}
        for frame in VideoSource(clip):
            if frame.index % args.every:
                continue
            key = str(frame.index)
            if key not in found:
                people = reference.detect([frame.image])[0]
                columns = [people.xyxy, people.score[:, None], people.keypoints[:, :, 2]]
                found[key] = np.concatenate(columns, axis=1)
            rows_ref = found[key].reshape(-1, 22)
            confident = (rows_ref[:, 5:] >= 0.5).sum(axis=1) >= args.ref_min_keypoints
            people = rows_ref[confident]
            regions = frames[frame.index].people.region if frame.index in frames else np.zeros((0, 4), int)
            obscured = frames[frame.index].status != "ok"
            for box, score in zip(people[:, :4], people[:, 4], strict=True):
                total += 1
                fraction = 1.0 if obscured else covered_fraction(box, regions, frame.image.shape[:2])
                if fraction >= args.min_covered:
                    covered += 1
                else:
                    misses.append(
                        {
                            "clip": name,
                            "frame": frame.index,
                            "box": [round(float(v), 1) for v in box],
                            "score": round(float(score), 3),
                            "covered": round(fraction, 3),
                        }
                    )
        if not cached.exists():
            np.savez_compressed(cached, **found)
        rate = covered / total if total else float("nan")
        rows.append(
            {
                "clip": name,
                "reference_persons": total,
                "covered": covered,
                "coverage": rate,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(f"{name:48s} {covered:5d}/{total:<5d} covered  {100 * rate:6.2f} %", flush=True)
    total = sum(r["reference_persons"] for r in rows)
    covered = sum(r["covered"] for r in rows)
    rate = covered / total if total else float("nan")
    print(
        f"{'TOTAL':48s} {covered:5d}/{total:<5d} covered  {100 * rate:6.2f} %  "
        f"(target {100 * args.target:.0f} %)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "total": total,
                    "covered": covered,
                    "coverage": rate,
                    "misses": misses,
                    "settings": vars(args) | {"json": str(args.json), "workdir": str(args.workdir)},
                },
                indent=1,
            )
        )
    return 0 if rate >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
