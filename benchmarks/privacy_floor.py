"""Privacy floor of the classic enhancers: how many raw faces does an independent detector still find?

For every image of the face and person sets in ``../shared/data`` the full pipeline runs (YOLO11n-pose
person detection → enhancer → paste back), then the frame goes through a real libx264 round trip
(CRF 23, the default), then the YuNet face detector (``../shared/models``, OpenCV) looks for faces.
A raw face counts as *still found* when YuNet finds a face in the output overlapping it (IoU ≥ 0.3).
The rate is still-found / found-on-raw, per dataset and enhancer (target ≤ 5 %).

    python benchmarks/privacy_floor.py --json privacy.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import av
import cv2
import numpy as np
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import PoseBackend, create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.enhance import make_enhancer
from recanon_sdk.geometry import box_iou

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
YUNET = SHARED / "models" / "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
SETS = {
    "faces/orl": ("data/faces/orl", "*/*.pgm"),
    "faces/face_recognition": ("data/faces/face_recognition_examples", "**/*.jp*g"),
    "faces/dlib": ("data/faces/dlib_examples", "*.jpg"),
    "images/coco2014": ("data/images/coco2014", "*.jpg"),
    "images/inria_person": ("data/images/inria_person", "*.png"),
}


class FaceDetector:
    def __init__(self, score_threshold: float) -> None:
        digest = hashlib.sha256(YUNET.read_bytes()).hexdigest()
        if digest != YUNET_SHA256:
            raise SystemExit(f"{YUNET} has sha256 {digest}, expected {YUNET_SHA256}")
        self._net = cv2.FaceDetectorYN.create(str(YUNET), "", (320, 320), score_threshold, 0.3, 5000)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        self._net.setInputSize((w, h))
        _, faces = self._net.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        if faces is None:
            return np.zeros((0, 4), np.float32)
        boxes = faces[:, :4].copy()
        boxes[:, 2:] += boxes[:, :2]
        return boxes


class CachedDetector:
    """Runs the real pose detector once per image; every enhancer then sees the same people."""

    def __init__(self, detector: PoseBackend) -> None:
        self.detector, self.weights, self.cache = detector, detector.weights, {}

    def detect(self, images):
        out = []
        for image in images:
            key = hashlib.sha1(image.tobytes()).digest()
            if key not in self.cache:
                self.cache = {key: self.detector.detect([image])[0]}
            out.append(self.cache[key])
        return out


def h264_round_trip(rgb: np.ndarray, crf: int = 23) -> np.ndarray:
    """Encode one frame with libx264 (yuv420p, CRF ``crf``) and decode it again."""
    h, w = rgb.shape[:2]
    padded = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = padded.shape[1], padded.shape[0], "yuv420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"crf": str(crf), "preset": "veryfast"}
    frame = av.VideoFrame.from_ndarray(padded, format="rgb24")
    frame.pts = 0
    packets = list(codec.encode(frame)) + list(codec.encode(None))
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    return decoded[0].to_ndarray(format="rgb24")[:h, :w]


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(image[:, :, ::-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--enhancers", nargs="+", default=["none", "blur", "pixelate", "mask"])
    parser.add_argument("--score", type=float, default=0.6, help="YuNet score threshold (OpenCV demo: 0.9)")
    parser.add_argument("--limit", type=int, default=300, help="images per set at most (evenly spaced)")
    parser.add_argument("--target", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument(
        "--detector",
        choices=["stills", "video"],
        default="stills",
        help="detector preset: stills (the default for image inputs) or video",
    )
    parser.add_argument(
        "--pixelate", type=float, default=None, help="pixelate strength (default: its default)"
    )
    parser.add_argument("--blur", type=float, default=None, help="blur strength (default: its default)")
    args = parser.parse_args()
    if not YUNET.exists():
        print(f"YuNet not found at {YUNET} (set RECANON_SHARED)", file=sys.stderr)
        return 2
    faces = FaceDetector(args.score)
    # These are photos: the default for image inputs (``recanon anonymize photo.jpg``) is the stills preset.
    config = DetectorConfig.for_stills() if args.detector == "stills" else DetectorConfig()
    detector = CachedDetector(create_pose_detector(config))  # the default backend
    results: dict[str, dict[str, dict[str, float]]] = {}
    worst = 0.0
    for set_name in args.sets:
        folder, pattern = SETS[set_name]
        paths = sorted((SHARED / folder).glob(pattern))
        if len(paths) > args.limit:
            paths = [paths[i] for i in np.linspace(0, len(paths) - 1, args.limit).round().astype(int)]
        counts = {
            name: {"raw_faces": 0, "still_found": 0, "images": 0, "images_without_person": 0}
            for name in args.enhancers
        }
        anonymizers = {
            name: Anonymizer(
                AnonymizerConfig(detector=config),
                detector=detector,
                enhancer=make_enhancer(name, {"blur": args.blur, "pixelate": args.pixelate}.get(name)),
            )
            for name in args.enhancers
            if name != "none"
        }
        for path in paths:
            raw = load_rgb(path)
            raw_faces = faces(raw)
            for name in args.enhancers:
                if name == "none":
                    out, people = raw, detector.detect([raw])[0]
                else:
                    anonymizers[name].reset()
                    out, people = anonymizers[name].process_frame(raw)
                out = h264_round_trip(out)
                found = faces(out)
                c = counts[name]
                c["images"] += 1
                c["images_without_person"] += len(people) == 0
                c["raw_faces"] += len(raw_faces)
                if len(raw_faces) and len(found):
                    c["still_found"] += int((box_iou(raw_faces, found).max(axis=1) >= 0.3).sum())
        results[set_name] = counts
        for name, c in counts.items():
            c["rate"] = c["still_found"] / c["raw_faces"] if c["raw_faces"] else float("nan")
            if name != "none" and c["raw_faces"]:
                worst = max(worst, c["rate"])
            print(
                f"{set_name:24s} {name:9s} raw faces {c['raw_faces']:4d}  still found {c['still_found']:4d}  "
                f"rate {100 * c['rate']:6.2f} %  (images {c['images']}, no person found in "
                f"{c['images_without_person']})",
                flush=True,
            )
    totals = {}
    for name in args.enhancers:
        raw_total = sum(results[s][name]["raw_faces"] for s in results)
        found_total = sum(results[s][name]["still_found"] for s in results)
        totals[name] = {
            "raw_faces": raw_total,
            "still_found": found_total,
            "rate": found_total / raw_total if raw_total else float("nan"),
        }
        print(
            f"{'ALL':24s} {name:9s} raw faces {raw_total:4d}  still found {found_total:4d}  "
            f"rate {100 * totals[name]['rate']:6.2f} %"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "sets": results,
                    "totals": totals,
                    "settings": {
                        "yunet_score": args.score,
                        "limit": args.limit,
                        "codec": "libx264 crf 23 yuv420p",
                    },
                },
                indent=1,
            )
        )
    return 0 if worst <= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
