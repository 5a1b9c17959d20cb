"""Does the head pin cover the faces? Coverage of YuNet's raw faces by a head-pinned GX's mask.

A head-pinned GX (docs/models.md, ``model.pin_head``) is private only where its mask is: on the
blocks a head box (from the detector's face keypoints) touches, or on the whole portrait when the
person's head is unknown. A face outside the mask gets the free network's rendering, so this measures
the miss directly, with an independent detector, on real clips:

1. the pipeline (detector, tracker, crop geometry; the Blur enhancer, which does not matter here)
   writes the sidecar of the first ``--frames`` frames;
2. for every region: the head boxes the anonymizer would give GX (``head_boxes`` +
   ``heads_in_regions``), the mask GX would pin (``head_pin_masks`` at 128×64), and the faces YuNet
   finds in the raw region (2× upscaled, score ≥ 0.8);
3. per face, the share of its box inside the mask; a face counts as covered at ≥ 95 %.

Printed per clip: regions, regions whose head is known (the rest are pinned whole), YuNet faces,
faces covered, the least-covered face, and the pinned share of the portraits (what the pin costs
the free network: the smaller, the more of the body is left to pose).

    python benchmarks/head_coverage.py                   # the clips in ../shared/data/videos/intel
    python benchmarks/head_coverage.py --clip my.mp4 --frames 300
    python benchmarks/head_coverage.py --orl 3           # + ORL close-ups, 3 photos per person
    python benchmarks/head_coverage.py --stills ../shared/data/faces/dlib_examples   # photos, summed

``--orl N`` adds ORL's close-ups (``../shared/data/faces/orl``, a face filling a 92×112 frame), N
photos of each of the 40 people as the frames of one clip (libx264 CRF 12): the case where the
detector's keypoints do not place a head well (docs/models.md, "Pinned where the head is").
``--stills DIR`` (repeatable) adds every .jpg/.png in DIR, each photo as a one-frame clip, and a
total line per folder: a check on framings the clips do not show (busts, crowds, portraits).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.crops import head_pin_masks
from recanon_sdk.evaluation import face_boxes
from recanon_sdk.geometry import head_boxes, heads_in_regions
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"
CLIPS = (
    "face-demographics-walking.gif",
    "face-demographics-walking-and-pause.gif",
    "head-pose-face-detection-female-and-male.gif",
    "classroom.gif",
    "store-aisle-detection.gif",
    "people-detection.gif",
)
SIZE = (128, 64)  # GX's portrait


def coverage(clip: Path, frames: int) -> dict[str, float]:
    """The counts for one clip (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Anonymizer(AnonymizerConfig(enhancer="blur")).process_video(
            clip, Path(tmp) / "out.mp4", max_frames=frames
        )
        regions = known = 0
        face_cover: list[float] = []
        pinned: list[float] = []
        for raw, poses in zip(VideoSource(clip), Sidecar(run.sidecar).frames(), strict=False):
            people = poses.people
            if not len(people):
                continue
            heads = head_boxes(people.keypoints, people.xyxy)
            per_region = heads_in_regions(people.region, heads, SIZE)
            masks = head_pin_masks(per_region, [SIZE] * len(people), SIZE)
            crops = [raw.image[y0:y1, x0:x1] for x0, y0, x1, y1 in people.region]
            for crop, mask, own in zip(crops, masks, heads, strict=True):
                if crop.shape[0] < 16 or crop.shape[1] < 16:
                    continue
                regions += 1
                known += int(not np.isnan(own).any())
                pinned.append(float(mask.mean()))
                sy, sx = SIZE[0] / crop.shape[0], SIZE[1] / crop.shape[1]
                for x0, y0, x1, y1 in face_boxes([crop], str(YUNET))[0]:
                    c0, r0 = max(0, int(np.floor(x0 * sx))), max(0, int(np.floor(y0 * sy)))
                    c1, r1 = min(SIZE[1], int(np.ceil(x1 * sx))), min(SIZE[0], int(np.ceil(y1 * sy)))
                    if c1 > c0 and r1 > r0:
                        face_cover.append(float(mask[0, r0:r1, c0:c1].mean()))
    cover = np.array(face_cover)
    return {
        "frames": run.frames,
        "regions": regions,
        "heads_known": known,
        "faces": len(cover),
        "covered": int((cover >= 0.95).sum()),
        "least": float(cover.min()) if len(cover) else float("nan"),
        "pinned_share": float(np.mean(pinned)) if pinned else float("nan"),
    }


def orl_clip(path: Path, per_subject: int) -> Path:
    """ORL's first ``per_subject`` photos of every person as the frames of a near-lossless clip."""
    import av
    from identity_sets import orl_photos  # benchmarks/

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 92, 112, "yuv420p"
        for photo in orl_photos(per_subject)[0]:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(photo, format="rgb24")))
        container.mux(stream.encode())
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip", type=Path, action="append", help="a clip (repeatable; default: the shared ones)"
    )
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--orl", type=int, default=0, help="also ORL close-ups, N photos per person")
    parser.add_argument(
        "--stills", type=Path, action="append", default=[], help="a folder of photos (repeatable)"
    )
    args = parser.parse_args()
    if not YUNET.is_file():
        print(f"needs YuNet at {YUNET} (../shared/models); set RECANON_SHARED to where shared/ is")
        return 2
    missing = [str(folder) for folder in args.stills if not folder.is_dir()]
    if missing:
        print(f"--stills takes folders of photos; not a folder: {', '.join(missing)}")
        return 2
    stills = [sorted(p for p in d.iterdir() if p.suffix.lower() in (".jpg", ".png")) for d in args.stills]
    if args.clip or args.stills:
        clips = list(args.clip or [])
    else:
        clips = [SHARED / "data" / "videos" / "intel" / name for name in CLIPS]
    scratch = tempfile.TemporaryDirectory()
    if args.orl:
        clips.append(orl_clip(Path(scratch.name) / "orl-close-ups.mp4", args.orl))
    print("YuNet faces (2x upscaled, score >= 0.8) in the raw regions vs the head-pinned GX's mask at 128x64")
    print(
        f"{'clip':46s} {'frames':>6s} {'regions':>7s} {'head known':>10s} {'faces':>6s} "
        f"{'covered':>8s} {'least':>6s} {'pinned':>7s}"
    )
    for clip in clips:
        if not clip.is_file():
            print(f"{clip.name:46s} missing; skipped")
            continue
        r = coverage(clip, args.frames if clip.parent != Path(scratch.name) else 40 * args.orl)
        print(
            f"{clip.name:46s} {r['frames']:6d} {r['regions']:7d} {r['heads_known']:10d} {r['faces']:6d} "
            f"{r['covered']:8d} {r['least']:6.2f} {100 * r['pinned_share']:6.1f}%"
        )
    for folder, photos in zip(args.stills, stills, strict=True):
        total = {"regions": 0, "heads_known": 0, "faces": 0, "covered": 0}
        least = []
        for photo in photos:
            r = coverage(photo, 1)
            for key in total:
                total[key] += r[key]
            if r["faces"]:
                least.append(r["least"])
                if r["covered"] < r["faces"]:
                    print(f"  {photo.name}: {r['faces'] - r['covered']} of {r['faces']} faces not covered")
        print(
            f"{folder.name + f' ({len(photos)} photos)':46s} {len(photos):6d} {total['regions']:7d} "
            f"{total['heads_known']:10d} {total['faces']:6d} {total['covered']:8d} "
            f"{min(least, default=float('nan')):6.2f}       -"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
