"""Coverage in crowds: of the people in crowded frames, how many lie inside the anonymized regions.

Three kinds of crowded material, each frame run through ``Anonymizer.process_frame`` with the video
defaults (a fresh tracker per frame):

* ``composite``: real backgrounds (frames of the shared clips and photos in which the strongest
  reference setting finds nobody) with 12–40 pedestrians from INRIA Person pasted at heights of
  40–250 px (at most 2.6 × their native 96 px), smaller towards the horizon. The ground truth is
  exact: each pasted person's pixels that later ones do not occlude (people less than half visible
  are left out), and a person counts as covered when ≥ ``--min-covered`` of those pixels lie inside
  the regions.
* ``photos``: the crowded photos with keypoint ground truth (COCO, OCHuman, CrowdPose, PoseTrack,
  AI Challenger, MHP) and the COCO val2014 photos; their annotated boxes where there are some.
* ``distant``: frames of the shared clips shrunk by 3 and tiled 3 × 3 into one frame, so that the
  people are distant and many.

Reference people are the ground truth where it exists, plus whatever the strongest setting available
finds on the raw frame (YOLO11n-pose at 1280 px with 2 × 2 tiles, confidence ≥ 0.35, ≥ 4 keypoints of
confidence ≥ 0.5). A person counts as covered when ≥ ``--min-covered`` (90 %) of the core of their
box (the central 60 % of its width, 90 % of its height) lies inside the union of the regions.

    python benchmarks/crowd_coverage.py                     # 16 composites, all photos, 8 mosaics
    python benchmarks/crowd_coverage.py --composites 40 --imgsz 1280 --tiles 2x2   # a stronger setting
    python benchmarks/crowd_coverage.py --crowd 6 0.2 0.1 0.6 --margin 0.12   # older crowd settings

Prints coverage per material and per person height; reads ``../shared``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

import itertools

from coverage_review import REVIEWED, verdict  # reviewed reference boxes that are not people
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.enhance import Mask
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
FRAME = (720, 1280)  # h, w of composites and mosaics
HEIGHT_BINS = (0, 60, 100, 150, 250, 10_000)
#: Annotation files of crowded stills (COCO-style, boxes in ``bbox``).
ANNOTATED = [
    "coco/test_coco.json",
    "ochuman/test_ochuman.json",
    "crowdpose/test_crowdpose.json",
    "posetrack18/annotations/test_posetrack18_val.json",
    "aic/test_aic.json",
    "mhp/test_mhp.json",
]


def core(box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return np.array([x0 + 0.2 * w, y0 + 0.05 * h, x1 - 0.2 * w, y1 - 0.05 * h])


def covered_fraction(box: np.ndarray, regions: np.ndarray, shape: tuple[int, int]) -> float:
    x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, [shape[1], shape[0], shape[1], shape[0]])
    if x1 <= x0 or y1 <= y0:
        return 1.0
    inside = np.zeros((y1 - y0, x1 - x0), bool)
    for rx0, ry0, rx1, ry1 in regions:
        inside[max(ry0 - y0, 0) : max(ry1 - y0, 0), max(rx0 - x0, 0) : max(rx1 - x0, 0)] = True
    return float(inside.mean())


def same_person(box: np.ndarray, others: list[np.ndarray]) -> bool:
    for other in others:
        ix = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
        iy = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
        smaller = min((box[2] - box[0]) * (box[3] - box[1]), (other[2] - other[0]) * (other[3] - other[1]))
        if smaller > 0 and ix * iy / smaller > 0.5:
            return True
    return False


def fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to cover ``size`` (h, w) and cropped to it."""
    h, w = size
    scale = max(h / image.shape[0], w / image.shape[1])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    y0, x0 = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
    return np.ascontiguousarray(resized[y0 : y0 + h, x0 : x0 + w])


def backgrounds(reference) -> list[np.ndarray]:
    """Frames of the shared clips and photos in which the reference finds nobody."""
    candidates = []
    for clip in sorted((DATA / "videos" / "intel").glob("*")):
        if clip.suffix not in (".mp4", ".gif"):
            continue
        for frame in VideoSource(clip):
            if frame.index in (0, 5):
                candidates.append(frame.image)
            if frame.index >= 5:
                break
    for photo in sorted((DATA / "images" / "coco2014").glob("*.jpg")):
        candidates.append(cv2.imread(str(photo))[:, :, ::-1])
    empty = []
    for image in candidates:
        found = reference.detect([image])[0]
        if not len(found[found.score >= 0.2]):
            empty.append(fit(image, FRAME))
    return empty


def composites(count: int, seed: int, reference) -> Iterator[tuple[str, np.ndarray, list[np.ndarray]]]:
    """Composite crowds; each person is given as a boolean mask of their pixels still visible (people
    pasted later occlude earlier ones; people less than half visible are left out)."""
    rng = np.random.default_rng(seed)
    crops = sorted((DATA / "images" / "inria_person").glob("*.png"))
    scenes = backgrounds(reference)
    if not scenes or not crops:
        sys.exit("no empty background or no INRIA crops found under ../shared")
    feather = np.zeros((160, 96), np.float32)
    cv2.ellipse(feather, (48, 80), (28, 58), 0, 0, 360, 1.0, -1)  # the person, little of the street
    feather = cv2.GaussianBlur(feather, (0, 0), 4)[:, :, None]
    for i in range(count):
        image = scenes[i % len(scenes)].astype(np.float32)
        labels = np.zeros(FRAME, np.int32)
        own: list[int] = []
        people = int(rng.integers(12, 41))
        for _ in range(people):
            y_foot = rng.uniform(0.35, 1.0) * FRAME[0]
            height = float(np.clip(40 + 210 * ((y_foot / FRAME[0] - 0.35) / 0.65) ** 1.5, 40, 250))
            height *= rng.uniform(0.8, 1.2)
            scale = height / 96.0  # INRIA's person is 96 px tall in the 96 × 160 crop
            w, h = round(96 * scale), round(160 * scale)
            x0 = int(rng.integers(-w // 4, FRAME[1] - 3 * w // 4))
            y0 = round(y_foot - 144 * scale)  # the feet at 144 px of 160
            px0, py0, px1, py1 = max(x0, 0), max(y0, 0), min(x0 + w, FRAME[1]), min(y0 + h, FRAME[0])
            if px1 - px0 < w / 2 or py1 - py0 < h / 2:
                continue
            crop = cv2.imread(str(crops[int(rng.integers(len(crops)))]))[:, :, ::-1]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            patch = cv2.resize(crop, (w, h)).astype(np.float32)
            alpha = cv2.resize(feather, (w, h))[:, :, None]
            sub = np.s_[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0]
            target = image[py0:py1, px0:px1]
            target[...] = alpha[sub] * patch[sub] + (1 - alpha[sub]) * target
            # the person's pixels: inside the ellipse and inside the body's box (96 px tall from
            # y 32 to 128 of 160, about 40 % as wide as tall)
            body = np.zeros((h, w), bool)
            body[round(32 * scale) : round(128 * scale), round(28 * scale) : round(68 * scale)] = True
            body &= alpha[:, :, 0] > 0.5
            labels[py0:py1, px0:px1][body[sub]] = len(own) + 1
            own.append(int(body[sub].sum()))
        masks = []
        for label, pixels in enumerate(own, start=1):
            visible = labels == label
            if pixels and visible.sum() >= 0.5 * pixels:
                masks.append(visible)
        yield f"composite-{i:02d}", np.clip(image, 0, 255).astype(np.uint8), masks


def mask_covered(mask: np.ndarray, regions: np.ndarray) -> float:
    """The fraction of the pixels of ``mask`` inside the union of ``regions``."""
    inside = np.zeros_like(mask)
    for x0, y0, x1, y1 in regions:
        inside[y0:y1, x0:x1] = True
    return float((mask & inside).sum() / max(mask.sum(), 1))


def is_mask(item: np.ndarray) -> bool:
    return item.ndim == 2 and item.dtype == bool


def mask_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def photos() -> Iterator[tuple[str, np.ndarray, list[np.ndarray]]]:
    for name in ANNOTATED:
        spec = DATA / "pose_gt" / name
        data = json.loads(spec.read_text())
        base = spec.parent if "posetrack" not in name else spec.parent.parent
        for info in data["images"]:
            image = cv2.imread(str(base / info["file_name"]))
            if image is None:
                continue
            boxes = [
                np.array(
                    [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                )
                for a in data["annotations"]
                if a["image_id"] == info["id"] and not a.get("iscrowd") and a.get("bbox")
            ]
            yield f"{name.split('/')[0]}/{Path(info['file_name']).name}", image[:, :, ::-1].copy(), boxes
    for photo in sorted((DATA / "images" / "coco2014").glob("*.jpg")):
        yield f"coco2014/{photo.name}", cv2.imread(str(photo))[:, :, ::-1].copy(), []


def mosaics(count: int) -> Iterator[tuple[str, np.ndarray, list[np.ndarray]]]:
    frames = []
    for clip in sorted((DATA / "videos" / "intel").glob("*")):
        if clip.suffix not in (".mp4", ".gif"):
            continue
        for frame in VideoSource(clip):
            if frame.index % 7 == 3:
                frames.append(frame.image)
            if len(frames) >= 9 * count:
                break
    tile_h, tile_w = FRAME[0] // 3, FRAME[1] // 3
    for i in range(count):
        canvas = np.zeros((*FRAME, 3), np.uint8)
        for j in range(9):
            tile = fit(frames[(9 * i + j * 5) % len(frames)], (tile_h, tile_w))
            r, c = divmod(j, 3)
            canvas[r * tile_h : (r + 1) * tile_h, c * tile_w : (c + 1) * tile_w] = tile
        yield f"mosaic-{i:02d}", canvas, []


def miss_tile(image: np.ndarray, box: np.ndarray, regions: np.ndarray, label: str) -> np.ndarray:
    """A crop around a missed person (3 × their box, at least 160 px): the regions in green, the
    person's box in red, 240 px tall, labelled."""
    h, w = image.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(80.0, 1.5 * max(box[2] - box[0], box[3] - box[1]))
    x0, y0 = int(max(cx - half, 0)), int(max(cy - half, 0))
    x1, y1 = int(min(cx + half, w)), int(min(cy + half, h))
    view = np.ascontiguousarray(image[:, :, ::-1])
    for rx0, ry0, rx1, ry1 in regions:
        cv2.rectangle(view, (int(rx0), int(ry0)), (int(rx1) - 1, int(ry1) - 1), (0, 255, 0), 1)
    cv2.rectangle(view, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (0, 0, 255), 1)
    tile = cv2.resize(view[y0:y1, x0:x1], (240, 240), interpolation=cv2.INTER_NEAREST)
    cv2.putText(tile, label[:34], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
    return tile


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--composites", type=int, default=16)
    parser.add_argument("--mosaics", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-covered", type=float, default=0.9)
    parser.add_argument("--imgsz", type=int, help="the system under test's detector size (default: auto)")
    parser.add_argument("--conf", type=float, help="the system under test's confidence (default: auto)")
    parser.add_argument("--tiles", default="1x1", help="the system under test's tiles, ROWSxCOLS")
    parser.add_argument("--margin", type=float, help="the system under test's region margin (default: auto)")
    parser.add_argument("--crowd", nargs=4, type=float, metavar=("PEOPLE", "HINT_CONF", "CONF", "IOU"),
                        help="the system under test's crowd mode (default: the product's)")  # fmt: skip
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sheet", type=Path, help="draw every miss into this contact sheet (image)")
    parser.add_argument("--materials", default="composite,photos,distant", help="comma-separated subset")
    args = parser.parse_args()
    reference = create_pose_detector(DetectorConfig.for_stills())
    rows, cols = (int(v) for v in args.tiles.split("x"))
    crowd = {}
    if args.crowd:
        people, hint, conf, iou = args.crowd
        crowd = {"crowd_people": int(people), "crowd_hint_conf": hint, "crowd_conf": conf, "crowd_iou": iou}
    detector = DetectorConfig(imgsz=args.imgsz, conf=args.conf, tiles=(rows, cols), **crowd)
    geometry = CropGeometry() if args.margin is None else CropGeometry(margin=args.margin)
    config = AnonymizerConfig(detector=detector, geometry=geometry)
    anonymizer = Anonymizer(config, enhancer=Mask())
    results: dict[str, list[tuple[float, float]]] = {}
    missed: list[str] = []
    reviewed = json.loads(REVIEWED.read_text())["reviewed"]
    not_people: dict[str, int] = {}  # per material: misses a person reviewed as not a person
    tiles: list[np.ndarray] = []
    sidecar_rows: dict[str, list[int]] = {}
    started = time.perf_counter()
    sources = [
        ("composite", composites(args.composites, args.seed, reference)),
        ("photos", photos()),
        ("distant", mosaics(args.mosaics)),
    ]
    for material, frames in sources:
        if material not in args.materials.split(","):
            continue
        results[material] = []
        sidecar_rows[material] = [0, 0]  # the sidecar's rows, and those scoring ≥ 0.2
        for name, image, truth in frames:
            if material == "composite":  # exact ground truth on backgrounds the reference finds empty
                strong = People.empty()
            else:
                found = reference.detect([image])[0]
                strong = found[(found.score >= 0.35) & ((found.keypoints[:, :, 2] >= 0.5).sum(axis=1) >= 4)]
            truth_boxes = [
                mask_box(t) if t.ndim == 2 and t.dtype == bool else np.asarray(t, float) for t in truth
            ]
            extra = [b for b in strong.xyxy if not same_person(b, truth_boxes)]
            anonymizer.reset()
            _, sut = anonymizer.process_frame(image)
            sidecar_rows[material][0] += len(sut)
            sidecar_rows[material][1] += int((sut.score >= 0.2).sum())
            regions = sut.region if sut.region is not None else np.zeros((0, 4), int)
            for item, box in [*zip(truth, truth_boxes, strict=True), *((b, b) for b in extra)]:
                if is_mask(item):
                    fraction = mask_covered(item, regions)  # exact: the visible pixels of the person
                else:
                    fraction = covered_fraction(core(np.asarray(box, float)), regions, image.shape[:2])
                results[material].append((float(box[3] - box[1]), fraction))
                if fraction < args.min_covered:
                    found = verdict({"clip": name, "box": [float(v) for v in box]}, reviewed)
                    note = f" (reviewed: {found['verdict']})" if found else ""
                    if found and found["verdict"] == "not a person":
                        not_people[material] = not_people.get(material, 0) + 1
                    missed.append(f"{name}: {np.round(box).astype(int).tolist()} {fraction:.2f}{note}")
                    if args.sheet:
                        label = f"{name} {fraction:.2f}"
                        tiles.append(miss_tile(image, np.asarray(box, float), regions, label))
    seconds = time.perf_counter() - started
    setting = f"imgsz {args.imgsz or 'auto'}, conf {args.conf or 'auto'}, tiles {args.tiles}"
    setting += f", margin {geometry.margin}, crowd {args.crowd or 'auto'}"
    print(f"system under test: video defaults ({setting}); {seconds:.0f} s\n")
    bins = [f"h<{hi}" if hi < 10_000 else f"h≥{lo}" for lo, hi in itertools.pairwise(HEIGHT_BINS)]
    print(f"{'material':10} {'people':>7} {'covered':>8}  " + "  ".join(bins))
    total = []
    for material, rows_ in results.items():
        if not rows_:
            continue
        total += rows_
        line = f"{material:10} {len(rows_):7d} {np.mean([f >= args.min_covered for _, f in rows_]):8.1%}"
        for lo, hi in itertools.pairwise(HEIGHT_BINS):
            sub = [f >= args.min_covered for h, f in rows_ if lo <= h < hi]
            line += f"  {np.mean(sub):5.1%}({len(sub)})" if sub else "      -  "
        print(line)
    print(f"{'all':10} {len(total):7d} {np.mean([f >= args.min_covered for _, f in total]):8.1%}")
    if not_people:
        print(
            "\nreviewed (reference boxes a person looked at and found no person in, "
            "benchmarks/coverage_reviewed.json):"
        )
        for material, rows_ in [*results.items(), ("all", total)]:
            gone = sum(not_people.values()) if material == "all" else not_people.get(material, 0)
            hits = sum(f >= args.min_covered for _, f in rows_)
            if rows_:
                people = len(rows_) - gone
                print(f"  {material:10} {hits} of {people} people covered: {hits / people:.1%}")
    print("\nrows the sidecar carries (what counting people by rows would see):")
    for material, (count, confident) in sidecar_rows.items():
        people = len(results[material])
        print(f"  {material:10} {count:5d} rows ({confident} scoring ≥ 0.2) for {people} people")
    print(f"\n{len(missed)} people not covered; first ones:")
    for line in missed[:12]:
        print("  " + line)
    if args.sheet and tiles:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 6)
        cv2.imwrite(
            str(args.sheet), np.vstack([np.hstack(tiles[i : i + 6]) for i in range(0, len(tiles), 6)])
        )
        print(f"contact sheet of the misses: {args.sheet}")
    if args.json:
        args.json.write_text(json.dumps({"setting": setting, "results": results, "missed": missed}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
