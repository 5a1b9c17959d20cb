"""Does recanon's tracker (ByteTrack from ``trackers``) give the same track ids as Ultralytics' ByteTrack?

recanon moved from Ultralytics' ByteTrack to Roboflow's ``trackers`` so that the runtime-only install
needs no torch. This script runs both on the same detections (the default pose detector on real
clips, cached in ``--workdir``) and prints per clip: detections, the share that carry a confirmed
id under each tracker, distinct ids, and the agreement of the id partitions (for each Ultralytics id,
the share of its detections that carry its most common new id; 100 % = the same people, the same
splits). Needs the torch extra (Ultralytics).

    python research/probes/tracker_agreement.py --frames 300 --workdir /tmp/trk
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
from recanon_sdk.detect.tracking import PersonTracker
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared")) / "data" / "videos" / "intel"
CLIPS = [
    "one-by-one-person-detection.mp4",
    "people-detection.gif",
    "store-aisle-detection.gif",
    "worker-zone-detection.gif",
    "classroom.gif",
    "face-demographics-walking.gif",
]


class _UltralyticsView:
    """The Results-like view Ultralytics' BYTETracker reads."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, np.zeros(len(conf), np.float32)

    @property
    def xywh(self) -> np.ndarray:
        wh = self.xyxy[:, 2:4] - self.xyxy[:, 0:2]
        return np.concatenate([self.xyxy[:, 0:2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: np.ndarray) -> _UltralyticsView:
        return _UltralyticsView(self.xyxy[index], self.conf[index])


def ultralytics_ids(sequence: list[People]) -> list[np.ndarray]:
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import IterableSimpleNamespace

    args = IterableSimpleNamespace(
        tracker_type="bytetrack", track_high_thresh=0.25, track_low_thresh=0.1, new_track_thresh=0.25,
        track_buffer=30, match_thresh=0.8, fuse_score=True,
    )  # fmt: skip
    tracker, out = BYTETracker(args), []
    for people in sequence:
        ids = np.full(len(people), -1, np.int64)
        for row in np.asarray(tracker.update(_UltralyticsView(people.xyxy, people.score))).reshape(-1, 8):
            ids[int(row[7])] = int(row[4])
        out.append(ids)
    return out


def detections(clip: Path, frames: int, workdir: Path) -> list[People]:
    cache = workdir / f"{clip.name}.{frames}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    images = [f.image for _, f in zip(range(frames), VideoSource(clip), strict=False)]
    detector = PoseDetector(DetectorConfig())
    found = [p for i in range(0, len(images), 4) for p in detector.detect(images[i : i + 4])]
    cache.write_bytes(pickle.dumps(found))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per clip (from the start)")
    parser.add_argument("--workdir", type=Path, default=Path("tracker-agreement"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name in CLIPS:
        if not (SHARED / name).is_file():
            print(f"{name}: missing (../shared/data not found)")
            continue
        sequence = detections(SHARED / name, args.frames, args.workdir)
        old = ultralytics_ids(sequence)
        tracker = PersonTracker()
        new = [tracker.update(people).track_id[: len(people)] for people in sequence]
        total = sum(len(p) for p in sequence)
        pairs = [
            (a, b) for x, y in zip(old, new, strict=True) for a, b in zip(x, y, strict=True) if a >= 0 <= b
        ]
        by_old: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for a, b in pairs:
            by_old[a][b] += 1
        agree = sum(c.most_common(1)[0][1] for c in by_old.values()) / max(len(pairs), 1)
        confirmed = [sum((ids >= 0).sum() for ids in seq) / max(total, 1) for seq in (old, new)]
        distinct = [len({int(i) for ids in seq for i in ids if i >= 0}) for seq in (old, new)]
        print(
            f"{name:34s} frames {len(sequence):4d} detections {total:4d}  confirmed ultralytics "
            f"{confirmed[0]:6.1%} trackers {confirmed[1]:6.1%}  ids {distinct[0]} vs {distinct[1]}  "
            f"agreement {agree:6.1%}"
        )


if __name__ == "__main__":
    main()
