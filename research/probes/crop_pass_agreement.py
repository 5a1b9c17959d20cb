"""How closely the crop pass agrees with the full pass on the same frame.

Runs the full detector on every third frame of a clip, then re-measures the people it found with
``PoseDetector.pose_in_crops`` at several crop sizes and margins, and prints the OKS of the crop
pass's keypoints against the full pass's (the keypoints the full pass is sure of), and its cost.

    python research/probes/crop_pass_agreement.py examples/walking.mp4 --frames 40
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from cadence_quality import oks
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.video.reader import VideoSource

SETTINGS = [(256, 0.25, False), (256, 0.25, True), (640, 0.25, True), (640, 0.4, True), (640, 0.15, True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    detector = create_pose_detector(DetectorConfig())
    frames = [f.image for f in itertools.islice(VideoSource(args.clip), 0, 3 * args.frames, 3)]
    full = [detector.detect([image])[0] for image in frames]
    people = sum(len(p) for p in full)
    print(f"{args.clip.name}: {len(frames)} frames, {people} people")
    for size, margin, same_scale in SETTINGS:
        scores, seconds = [], 0.0
        for image, found in zip(frames, full, strict=True):
            if not len(found):
                continue
            started = time.perf_counter()
            again, matched = detector.pose_in_crops(
                image, found, size=size, margin=margin, same_scale=same_scale
            )
            seconds += time.perf_counter() - started
            for i in np.flatnonzero(matched):
                box = found.xyxy[i]
                value = oks(
                    again.keypoints[i], found.keypoints[i], float((box[2] - box[0]) * (box[3] - box[1]))
                )
                if value is not None:
                    scores.append(value)
        values = np.array(scores)
        print(
            f"  crops ≤ {size} px, margin {margin}, {'full-pass scale' if same_scale else 'fixed size   '}: "
            f"OKS {values.mean():.3f}, ≥ 0.9 {np.mean(values >= 0.9):.1%} of {len(values)}, "
            f"{1000 * seconds / max(people, 1):.1f} ms per person"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
