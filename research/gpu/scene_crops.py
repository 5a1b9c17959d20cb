"""Cut raw person crops out of the scene sources, for GX/GY/P training beside INRIA's pedestrians.

The scenes of ``research/configs/scene_portrait_pose_mixed.toml`` (a corridor video outside walking.mp4's
frames, the classroom, head-pose, people-detection and bicycle GIFs, 20 COCO-2014 photos) hold
people INRIA lacks: sitting, close-ups, seen from the waist up. Every person the stock pose model
finds (score >= --min-score, box >= --min-height px tall) is cut with the training margin (15 %),
to the portraits' 2:1 aspect where the frame allows, scaled down to at most 256 px tall, and written
as JPEG (quality 95, 4:4:4: 40.7 dB on INRIA's PNGs) to ``OUT``, one image per person, as INRIA's
folder is: ``recanon train`` reads it as a ``folder`` source (pseudo-labels from the frozen teacher on
the crop). None of these sources is in ``recanon eval``'s suite nor among
``benchmarks/pose_on_anonymized.py``'s unseen clips.

    python research/gpu/scene_crops.py .gpu/scene_person
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from recanon_sdk.anonymizer import AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.training.scene_pose import _frames_of, load_scene_config, scene_source

JPEG_95_444 = [
    cv2.IMWRITE_JPEG_QUALITY,
    95,
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
]
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "scene_portrait_pose_mixed.toml"


def crop_box(box: np.ndarray, shape: tuple[int, ...], margin: float = 0.15) -> tuple[int, int, int, int]:
    """The person box grown by ``margin`` and widened or heightened to 2:1 (H:W), clipped to the frame.

    >>> crop_box(np.array([10.0, 10, 30, 50]), (100, 100, 3))
    (7, 4, 33, 56)
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = (y1 - y0) * (1 + 2 * margin), (x1 - x0) * (1 + 2 * margin)
    h, w = max(h, 2 * w), max(w, h / 2)
    H, W = shape[:2]
    return (
        max(0, round(cx - w / 2)),
        max(0, round(cy - h / 2)),
        min(W, round(cx + w / 2)),
        min(H, round(cy + h / 2)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--min-score", type=float, default=0.5)
    parser.add_argument("--min-height", type=int, default=80)
    parser.add_argument("--every", type=int, default=6, help="at most every n-th frame of videos and GIFs")
    parser.add_argument("--max-height", type=int, default=256, help="taller crops are scaled down to this")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; remove it to cut the crops again")
    cfg = load_scene_config(CONFIG)
    detector = create_pose_detector(AnonymizerConfig().detector)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    total = 0
    for item in cfg.sources:
        source, every, skip = scene_source(item, cfg.every)
        frames = _frames_of(source, max(every, args.every), 0, skip)
        n = 0
        for i, frame in enumerate(frames):
            people = detector.detect([frame])[0]
            for j, (box, score) in enumerate(zip(people.xyxy, people.score, strict=True)):
                if score < args.min_score or box[3] - box[1] < args.min_height:
                    continue
                x0, y0, x1, y1 = crop_box(box, frame.shape)
                crop = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2BGR)
                if crop.shape[0] > args.max_height:  # 2x the training height is detail enough
                    scale = args.max_height / crop.shape[0]
                    crop = cv2.resize(
                        crop,
                        (max(1, round(crop.shape[1] * scale)), args.max_height),
                        interpolation=cv2.INTER_AREA,
                    )
                path = partial / f"{source.stem}_{i:04d}_{j}.jpg"
                if not cv2.imwrite(str(path), crop, JPEG_95_444):
                    raise SystemExit(f"could not write {path}")
                n += 1
        print(f"{source.name}: {len(frames)} frames, {n} people")
        total += n
    partial.rename(args.out)  # complete, or not there at all
    print(f"{total} crops in {args.out}")


if __name__ == "__main__":
    main()
