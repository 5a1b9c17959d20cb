"""Parity of the pose model's inference engines and precisions against ONNX Runtime f32, on real frames.

The reference is the packaged pose model on ONNX Runtime (f32). Each candidate (OpenVINO f32, OpenVINO
bf16, and with ``--int8`` an NNCF int8 quantization calibrated on other frames of the same clips) runs
``detect`` (default settings: the main pass at the clip's automatic size and the zoom-out pass) on the
same frames. People are matched to the reference by box IoU ≥ 0.5 (greedy, best first); the report
counts the unmatched on either side and gives, over matched people, the box IoU (min, mean) and the
distance of confident keypoints (reference confidence > 0.5: max, p99, mean, in frame pixels). The
parity budget: no unmatched person, every confident keypoint within 1 px. Each engine's time per
``detect`` call is measured on the same calls, alternating engines frame by frame.

The row ``onnxruntime f32 ±1`` is the model's own noise floor: the reference engine on the same frames
with every pixel value moved by at most one grey level (random -1/0/+1, far below what any video codec
changes), i.e. how far detections move for an invisible change of the input.

    python benchmarks/engine_parity.py                      # shared corridor clip + GIFs, 8 frames each
    python benchmarks/engine_parity.py --int8 --threads 2   # also quantize to int8 (needs nncf)
    python benchmarks/engine_parity.py --int8 --int8-scope decode backbone   # and int8 in the backbone only
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
INTEL = SHARED / "data" / "videos" / "intel"


def clip_frames(path: Path, count: int, offset: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the clip, starting ``offset`` frames in."""
    from recanon_sdk.video.reader import VideoSource

    frames = [f.image for f in VideoSource(path)]
    step = max((len(frames) - offset) // count, 1)
    return frames[offset::step][:count]


def match(reference, candidate) -> tuple[list[tuple[int, int]], int, int]:
    """Greedy IoU ≥ 0.5 matching: pairs (reference row, candidate row), unmatched on each side."""
    from recanon_sdk.geometry import box_iou

    if not len(reference) or not len(candidate):
        return [], len(reference), len(candidate)
    iou = box_iou(reference.xyxy, candidate.xyxy)
    pairs: list[tuple[int, int]] = []
    while iou.size and iou.max() >= 0.5:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        pairs.append((int(i), int(j)))
        iou[i, :], iou[:, j] = -1, -1
    return pairs, len(reference) - len(pairs), len(candidate) - len(pairs)


def quantize_int8(
    onnx_path: Path, calibration: list[np.ndarray], out_dir: Path, scope: str = "decode"
) -> Path:
    """NNCF post-training int8 quantization of the pose model, calibrated on ``calibration`` frames.

    ``scope="decode"``: the YOLO head's box/keypoint decoding (adds, multiplies, the DFL) and sigmoids
    stay in float, as Ultralytics' own int8 export does. ``scope="backbone"``: the whole head (its
    box, class and keypoint convolutions too) stays in float; only the backbone and neck are int8.
    Returns the OpenVINO IR (``.xml``) path.
    """
    import nncf
    import openvino as ov
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.detect.yolo_io import input_batch, letterbox

    config = DetectorConfig()
    inputs = []
    for image in calibration:
        h, w = image.shape[:2]
        boxed, _ = letterbox(image, (config.imgsz_for(w, h),) * 2, rect=True)
        inputs.append(input_batch([boxed]))
    model = ov.Core().read_model(onnx_path)
    decode = [".*model.23/.*/Add", ".*model.23/.*/Sub.*", ".*model.23/.*/Mul.*", ".*model.23/.*/Div.*"]
    ignored = nncf.IgnoredScope(
        patterns=[".*model.23/.*"] if scope == "backbone" else [*decode, ".*model.23/dfl.*"],
        types=["Sigmoid"],
        validate=False,
    )
    quantized = nncf.quantize(
        model,
        nncf.Dataset(inputs),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(inputs),
        ignored_scope=ignored,
    )
    path = out_dir / f"yolo11n-pose-int8-{scope}.xml"
    ov.save_model(quantized, path, compress_to_fp16=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "clips", nargs="*", type=Path, help="videos (default: the shared corridor clip and GIFs)"
    )
    parser.add_argument("--frames", type=int, default=8, help="evaluated frames per clip")
    parser.add_argument("--threads", type=int, default=2, help="inference threads of every engine")
    parser.add_argument("--int8", action="store_true", help="also quantize to int8 with NNCF and compare")
    parser.add_argument("--calibration", type=int, default=6, help="int8 calibration frames per clip")
    parser.add_argument(
        "--int8-scope",
        nargs="+",
        choices=["decode", "backbone"],
        default=["decode"],
        help="what stays in float: the head's decoding only, or the whole head (int8 backbone)",
    )
    args = parser.parse_args()

    from recanon_sdk.detect.engine import openvino_native_bf16
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector
    from recanon_sdk.detect.openvino_pose import OpenVinoPoseDetector
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.detect.weights import resolve_pose_weights

    clips = args.clips or [INTEL / "one-by-one-person-detection.mp4", *sorted(INTEL.glob("*.gif"))]
    config = DetectorConfig()
    onnx_path = resolve_pose_weights("yolo11n-pose-onnx").path
    evaluated = {clip.name: clip_frames(clip, args.frames, offset=1) for clip in clips}
    engines = {"onnxruntime f32": OnnxPoseDetector(config, onnx_path, threads=args.threads)}
    engines["onnxruntime f32 ±1"] = engines["onnxruntime f32"]
    rng = np.random.default_rng(0)
    engines["openvino f32"] = OpenVinoPoseDetector(config, onnx_path, precision="f32", threads=args.threads)
    if openvino_native_bf16():
        engines["openvino bf16"] = OpenVinoPoseDetector(
            config, onnx_path, precision="bf16", threads=args.threads
        )
    with tempfile.TemporaryDirectory() as tmp:
        if args.int8:
            calibration = [
                image
                for clip in clips
                for image in clip_frames(clip, args.calibration, offset=args.frames // 2 + 3)
            ]
            for scope in args.int8_scope:
                started = time.perf_counter()
                int8_path = quantize_int8(onnx_path, calibration, Path(tmp), scope)
                seconds = time.perf_counter() - started
                print(f"int8 ({scope}): NNCF quantized on {len(calibration)} frames in {seconds:.0f} s")
                label = "int8" if scope == "decode" else "int8bb"
                engines[f"openvino {label}+f32"] = OpenVinoPoseDetector(
                    config, int8_path, precision="f32", threads=args.threads
                )
                if "openvino bf16" in engines:
                    engines[f"openvino {label}+bf16"] = OpenVinoPoseDetector(
                        config, int8_path, precision="bf16", threads=args.threads
                    )
        for detector in engines.values():  # compile/plan every input size once before timing
            for frames in evaluated.values():
                detector.detect(frames[:1])
        results: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
        for frames, frame_index in itertools.product(evaluated.values(), range(args.frames)):
            if frame_index >= len(frames):
                continue
            found = {}
            frame = frames[frame_index]
            noisy = (frame.astype(np.int16) + rng.integers(-1, 2, frame.shape)).clip(0, 255).astype(np.uint8)
            for name, detector in engines.items():
                started = time.perf_counter()
                (found[name],) = detector.detect([noisy if name.endswith("±1") else frame])
                results[name].setdefault("ms", []).append((time.perf_counter() - started) * 1000)
            reference = found["onnxruntime f32"]
            for name in engines:
                pairs, missed, extra = match(reference, found[name])
                stats = results[name]
                stats.setdefault("people", []).append(len(reference))
                stats.setdefault("missed", []).append(missed)
                stats.setdefault("extra", []).append(extra)
                for i, j in pairs:
                    a, b = reference[np.array([i])], found[name][np.array([j])]
                    from recanon_sdk.geometry import box_iou

                    stats.setdefault("iou", []).append(float(box_iou(a.xyxy, b.xyxy)[0, 0]))
                    confident = a.keypoints[0, :, 2] > 0.5
                    distance = np.linalg.norm(a.keypoints[0, :, :2] - b.keypoints[0, :, :2], axis=1)
                    stats.setdefault("kpt", []).extend(distance[confident].tolist())
    print(f"{sum(len(f) for f in evaluated.values())} frames from {len(clips)} clips; threads {args.threads}")
    print("engine               ms/detect  people  missed  extra  IoU min  IoU mean  kpt max   p99  mean")
    for name, stats in results.items():
        kpt = np.asarray(stats.get("kpt", [0.0]))
        iou = np.asarray(stats.get("iou", [1.0]))
        ok = sum(stats["missed"]) == 0 and sum(stats["extra"]) == 0 and kpt.max() <= 1.0
        missed, extra = sum(stats["missed"]), sum(stats["extra"])
        print(
            f"{name:20s} {np.median(stats['ms']):9.1f}  {sum(stats['people']):6d}  {missed:6d}  {extra:5d}  "
            f"{iou.min():7.3f}  {iou.mean():8.4f}  {kpt.max():7.2f}  {np.percentile(kpt, 99):4.2f}  "
            f"{kpt.mean():4.2f}  {'within budget' if ok else 'OVER budget'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
