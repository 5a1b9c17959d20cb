"""Make docs/img/skeleton.jpg: the ``skeleton`` enhancer on a frame of examples/walking.mp4.

    python docs/make_skeleton_picture.py

Runs ``Anonymizer(enhancer="skeleton")`` over the clip up to frame ``--frame`` (tracking as in a
real run) and puts the input frame and the anonymized one side by side: each person becomes a plain
fill in the colour around them, with the skeleton the detector found drawn on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from recanon_sdk import Anonymizer
from recanon_sdk.video.reader import VideoSource

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=ROOT / "examples" / "walking.mp4")
    parser.add_argument("--frame", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "skeleton.jpg")
    args = parser.parse_args()
    before = next(f.image for f in VideoSource(args.source) if f.index == args.frame)
    last = None
    for item in Anonymizer(enhancer="skeleton").stream(args.source, max_frames=args.frame + 1):
        last = item
    if last is None or last.status != "ok" or not len(last.people):
        raise SystemExit(f"frame {args.frame} of {args.source} has no person, or failed closed")
    after, people = last.frame.image, last.people
    picture = np.concatenate([before, np.full((before.shape[0], 8, 3), 255, np.uint8), after], axis=1)
    scale = 960 / picture.shape[1]
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(args.out), picture[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out} ({len(people)} people in frame {args.frame})")


if __name__ == "__main__":
    main()
