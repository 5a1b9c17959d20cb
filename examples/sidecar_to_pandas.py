"""Read a pose sidecar into pandas (one row per person per frame) and NumPy (keypoints per track).

    pip install pandas                      # not part of recanon's install
    python examples/sidecar_to_pandas.py walking.anon.pose.jsonl

The sidecar is the analytics product: fall detection or workplace-safety rules run on these
keypoints and track ids, never on raw video. Needs pandas, which recanon itself does not install.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from recanon_sdk import KEYPOINT_NAMES, Sidecar

try:
    import pandas as pd
except ImportError:  # recanon does not depend on pandas; this example does
    if __name__ == "__main__":
        sys.exit("sidecar_to_pandas.py needs pandas, which recanon does not install: pip install pandas")
    raise


def sidecar_to_frame(path: str) -> pd.DataFrame:
    """One row per detected person: frame, time, track, box, score and x/y/conf of each keypoint."""
    rows = []
    for frame in Sidecar(path).frames():
        people = frame.people
        for i in range(len(people)):
            row = {
                "frame": frame.index,
                "time": frame.time,
                "track_id": int(people.track_id[i]),
                "held": bool(people.held[i]),
                "score": float(people.score[i]),
                "x0": people.xyxy[i, 0],
                "y0": people.xyxy[i, 1],
                "x1": people.xyxy[i, 2],
                "y1": people.xyxy[i, 3],
            }
            for k, name in enumerate(KEYPOINT_NAMES):
                row[f"{name}_x"], row[f"{name}_y"], row[f"{name}_conf"] = people.keypoints[i, k]
            rows.append(row)
    return pd.DataFrame(rows)


def keypoints_by_track(table: pd.DataFrame, track_id: int) -> np.ndarray:
    """(frames, 17, 3) keypoints of one track, in time order (held rows excluded)."""
    rows = table[(table.track_id == track_id) & ~table.held].sort_values("frame")
    columns = [f"{name}_{part}" for name in KEYPOINT_NAMES for part in ("x", "y", "conf")]
    return rows[columns].to_numpy(dtype=np.float32).reshape(len(rows), 17, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sidecar")
    args = parser.parse_args()
    table = sidecar_to_frame(args.sidecar)
    print(f"{len(table)} person rows over {table.frame.nunique() if len(table) else 0} frames")
    tracked = table[table.track_id >= 0]
    for track_id, rows in tracked.groupby("track_id"):
        keypoints = keypoints_by_track(table, int(track_id))
        hips = keypoints[:, [11, 12], 1].mean(axis=1)
        print(
            f"track {track_id}: frames {rows.frame.min()}–{rows.frame.max()}, "
            f"{len(keypoints)} detections, mean hip height {hips.mean():.1f} px"
        )


if __name__ == "__main__":
    main()
