"""Make docs/img/before_after.jpg, the README's picture, from the README's own command.

    recanon anonymize examples/walking.mp4 -o walking.anon.mp4 --overwrite
    python docs/make_before_after.py walking.anon.mp4

Puts frame ``--frame`` of the input and of the output side by side, with the pose sidecar's
keypoints drawn on the output half (what analytics sees: the pose, not the person).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from recanon_sdk import SKELETON, Sidecar
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import sidecar_path_for

ROOT = Path(__file__).resolve().parents[1]


def frame_at(path: Path, index: int) -> np.ndarray:
    for frame in VideoSource(path):
        if frame.index == index:
            return frame.image
    raise SystemExit(f"{path} has no frame {index}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("anonymized", type=Path)
    parser.add_argument("--source", type=Path, default=ROOT / "examples" / "walking.mp4")
    parser.add_argument("--frame", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "before_after.jpg")
    args = parser.parse_args()
    before, after = frame_at(args.source, args.frame), frame_at(args.anonymized, args.frame).copy()
    poses = next(f for f in Sidecar(sidecar_path_for(args.anonymized)).frames() if f.index == args.frame)
    for keypoints in poses.people.keypoints:
        for a, b in SKELETON:
            if keypoints[a, 2] > 0.5 and keypoints[b, 2] > 0.5:
                start = tuple(int(v) for v in keypoints[a, :2])
                end = tuple(int(v) for v in keypoints[b, :2])
                cv2.line(after, start, end, (0, 255, 160), 2, cv2.LINE_AA)
    for x0, y0, x1, y1 in poses.people.region:
        cv2.rectangle(after, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), (255, 200, 0), 1)
    picture = np.concatenate([before, np.full((before.shape[0], 8, 3), 255, np.uint8), after], axis=1)
    scale = 960 / picture.shape[1]
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(args.out), picture[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
