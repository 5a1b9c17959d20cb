"""Do recanon's ByteTrack and the ByteTracks of Ultralytics and Roboflow's ``trackers`` give the same ids?

recanon tracks people with its own NumPy ByteTrack (``recanon_sdk.detect.bytetrack``); it used
Roboflow's ``trackers`` before (which loads supervision and SciPy), and Ultralytics' ByteTrack before
that. This script runs all three on the same detections (the default pose detector of the product
on real clips, cached in ``--workdir``) and prints per clip and pair of trackers (reference → other):
detections, the share that carry a confirmed id under each, distinct ids, and two agreements of the
id partitions over the detections both confirm:

* ``split``: for each reference id, the share of its detections that carry its most common other id
  (100 % = no reference track split; a merge of two reference tracks is not counted);
* ``1:1``: the share of those detections on which the ids agree under the best one-to-one mapping of
  reference ids to other ids (100 % = the same people, no split and no merge);

and ``whole``, the one-to-one agreement over every detection, where an unconfirmed detection (−1)
agrees only with an unconfirmed one (it also counts the detections one tracker confirms and the other
does not).

Needs Ultralytics (the torch extra, and ``lap`` for its tracker) and ``trackers``
(``pip install "lap>=0.5.12" "trackers>=2.6,<3"``).

    python research/probes/tracker_agreement.py --frames 300 --workdir /tmp/trk
    python research/probes/tracker_agreement.py --frames 300 --workdir /tmp/trk --clips all
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.bytetrack import linear_assignment
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.tracking import PersonTracker, TrackerConfig
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
    detector = create_pose_detector(DetectorConfig())
    found = [p for i in range(0, len(images), 4) for p in detector.detect(images[i : i + 4])]
    cache.write_bytes(pickle.dumps(found))
    return found


def trackers_ids(sequence: list[People]) -> list[np.ndarray]:
    """Ids from Roboflow's ``trackers`` ByteTrack with recanon's settings, 1-based (what recanon used)."""
    import supervision as sv
    from trackers import ByteTrackTracker

    c = TrackerConfig()
    tracker = ByteTrackTracker(
        lost_track_buffer=c.lost_buffer, frame_rate=30.0, track_activation_threshold=c.activation_threshold,
        minimum_consecutive_frames=c.confirm_frames, minimum_iou_threshold=c.min_iou,
        high_conf_det_threshold=c.high_threshold,
    )  # fmt: skip
    out = []
    for people in sequence:
        found = sv.Detections(
            xyxy=people.xyxy.astype(np.float32).reshape(-1, 4),
            confidence=people.score.astype(np.float32),
            data={"row": np.arange(len(people))},
        )
        tracked = tracker.update(found)
        ids = np.full(len(people), -1, np.int64)
        if len(tracked):
            given = np.asarray(tracked.tracker_id, np.int64)
            ids[np.asarray(tracked.data["row"], np.int64)] = np.where(given >= 0, given + 1, -1)
        out.append(ids)
    return out


def recanon_ids(sequence: list[People]) -> list[np.ndarray]:
    tracker = PersonTracker()
    return [tracker.update(people).track_id[: len(people)] for people in sequence]


def agreement(ref: list[np.ndarray], other: list[np.ndarray]) -> tuple[float, float, float, int]:
    """(split, one-to-one, whole) agreement of two id partitions and the detections both confirm.

    ``whole`` is the one-to-one agreement over every detection, an unconfirmed one (−1) agreeing
    only with an unconfirmed one."""
    ref_all, other_all = (
        np.concatenate([*ref, np.zeros(0, np.int64)]),
        np.concatenate([*other, np.zeros(0, np.int64)]),
    )
    both = (ref_all >= 0) & (other_all >= 0)
    neither = int(((ref_all < 0) & (other_all < 0)).sum())
    if not both.any():
        return 1.0, 1.0, neither / max(len(ref_all), 1), 0
    ref_ids, a = np.unique(ref_all[both], return_inverse=True)
    other_ids, b = np.unique(other_all[both], return_inverse=True)
    counts = np.zeros((len(ref_ids), len(other_ids)))
    np.add.at(counts, (a, b), 1)
    split = counts.max(axis=1).sum() / both.sum()
    rows, cols = linear_assignment(-counts)
    matched = counts[rows, cols].sum()
    return split, matched / both.sum(), (matched + neither) / len(ref_all), int(both.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per clip (from the start)")
    parser.add_argument("--workdir", type=Path, default=Path("tracker-agreement"))
    parser.add_argument(
        "--clips", choices=["six", "all"], default="six", help="the six clips, or every shared clip"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    names = (
        CLIPS
        if args.clips == "six"
        else sorted(p.name for p in SHARED.glob("*") if p.suffix in {".mp4", ".gif"})
    )
    totals: dict[str, np.ndarray] = collections.defaultdict(lambda: np.zeros(5))
    for name in names:
        if not (SHARED / name).is_file():
            print(f"{name}: missing (../shared/data not found)")
            continue
        sequence = detections(SHARED / name, args.frames, args.workdir)
        ids = {"ultralytics": ultralytics_ids(sequence), "trackers": trackers_ids(sequence)}
        ids["recanon"] = recanon_ids(sequence)
        total = sum(len(p) for p in sequence)
        confirmed = {k: sum(int((i >= 0).sum()) for i in v) / max(total, 1) for k, v in ids.items()}
        distinct = {k: len({int(i) for a in v for i in a if i >= 0}) for k, v in ids.items()}
        print(f"{name}: frames {len(sequence)} detections {total}")
        for ref, other in (("ultralytics", "trackers"), ("ultralytics", "recanon"), ("trackers", "recanon")):
            split, one_to_one, whole, both = agreement(ids[ref], ids[other])
            totals[f"{ref} → {other}"] += [split * both, one_to_one * both, both, whole * total, total]
            print(
                f"  {ref:>11s} → {other:8s} confirmed {confirmed[ref]:6.1%} vs {confirmed[other]:6.1%}  "
                f"ids {distinct[ref]:3d} vs {distinct[other]:3d}  split {split:6.1%}  1:1 {one_to_one:6.1%}  "
                f"whole {whole:6.1%}"
            )
    print("all clips (pooled over detections):")
    for key, (split, one_to_one, both, whole, total) in totals.items():
        print(
            f"  {key:24s} split {split / max(both, 1):6.1%}  1:1 {one_to_one / max(both, 1):6.1%}"
            f"  ({int(both)} both confirm)  whole {whole / max(total, 1):6.1%}  ({int(total)})"
        )


if __name__ == "__main__":
    main()
