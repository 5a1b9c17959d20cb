"""Parity and speed of the pose backends on an NVIDIA GPU, in under 5 minutes (the device check).

For each backend available on the machine — torch on CUDA, onnxruntime with the CUDA provider,
onnxruntime with the TensorRT provider (if it loads) — and always the CPU baselines:

1. **parity**: on the same frames, the persons found and their boxes and keypoints against torch
   (box IoU, mean keypoint distance in pixels);
2. **speed**: the whole per-frame work of the anonymizer (detect + track + blur + paste, as
   ``Anonymizer.process_frame``) at 1280×720 and 1920×1080, for 1 stream and for 4 concurrent
   streams (4 threads, each with its own anonymizer and detector session), frames per second per
   stream and in total.

Frames come from the walking video (../shared, else examples/walking.mp4), resized. Prints a table
and writes ``device_check.json`` to ``--out`` (``$OUT`` on the lent machine).

    python benchmarks/device_check.py                       # on the GPU machine
    python benchmarks/device_check.py --quick --device cpu  # a smoke run on any machine
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))


def frames_at(size: tuple[int, int], count: int) -> list[np.ndarray]:
    import cv2
    from recanon_sdk.video.reader import VideoSource

    clip = SHARED / "data/videos/intel/one-by-one-person-detection.mp4"
    clip = clip if clip.exists() else ROOT / "examples" / "walking.mp4"
    out = []
    for frame in VideoSource(clip):
        if frame.index % 5 == 0:  # spread over the clip so people are in view
            out.append(cv2.resize(frame.image, size, interpolation=cv2.INTER_LINEAR))
        if len(out) == count:
            break
    return out


def parity(reference: list, other: list) -> dict[str, float]:
    """Same persons? ``counts_equal`` (fraction of frames), mean best-match IoU, mean keypoint px."""
    from recanon_sdk.geometry import box_iou

    equal, ious, kp = [], [], []
    for ref, got in zip(reference, other, strict=True):
        equal.append(len(ref) == len(got))
        if len(ref) and len(got):
            iou = box_iou(ref.xyxy, got.xyxy)
            best = iou.argmax(1)
            ious.extend(iou.max(1).tolist())
            for i, j in enumerate(best):
                visible = ref.keypoints[i, :, 2] > 0.5
                if visible.any():
                    diff = ref.keypoints[i, visible, :2] - got.keypoints[j, visible, :2]
                    kp.append(float(np.linalg.norm(diff, axis=1).mean()))
    return {
        "counts_equal": float(np.mean(equal)),
        "box_iou": float(np.mean(ious)) if ious else float("nan"),
        "keypoint_px": float(np.mean(kp)) if kp else float("nan"),
    }


def speed(make_detector, frames: list[np.ndarray], streams: int, seconds: float) -> dict[str, float]:
    """Frames per second of ``Anonymizer.process_frame`` per stream and in total, over ``seconds``."""
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig

    anonymizers = [Anonymizer(AnonymizerConfig(), detector=make_detector()) for _ in range(streams)]
    for anonymizer in anonymizers:  # warm up (first calls allocate and build engines)
        anonymizer.process_frame(frames[0])
    counts = [0] * streams
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        while time.perf_counter() < stop:
            anonymizers[i].process_frame(frames[counts[i] % len(frames)])
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(counts) / elapsed
    return {"total_fps": total, "per_stream_fps": total / streams, "frames": sum(counts)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda", help="torch device for the torch backend (cuda or cpu)")
    parser.add_argument("--seconds", type=float, default=12.0, help="measuring time per configuration")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and times: a smoke run anywhere")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector
    from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
    from recanon_sdk.export import export_pose_onnx

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: use --device cpu", file=sys.stderr)
        return 2
    sizes = [(320, 180)] if args.quick else [(1280, 720), (1920, 1080)]
    seconds = 1.0 if args.quick else args.seconds
    stream_counts = [1, 2] if args.quick else [1, 4]
    config = DetectorConfig(imgsz=320 if args.quick else None)
    available = ort.get_available_providers()
    report: dict[str, object] = {
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "onnxruntime": ort.__version__,
        "providers": available,
        "results": {},
    }
    print(
        f"torch {torch.__version__} ({report['cuda'] or 'no GPU'}); onnxruntime {ort.__version__} {available}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_pose_onnx(Path(tmp) / "export", imgsz=320 if args.quick else 960).onnx_path
        backends = {"torch-" + args.device: lambda: PoseDetector(replace(config, device=args.device))}
        backends["onnx-cpu"] = lambda: OnnxPoseDetector(config, onnx_path, ["cpu"])
        if "CUDAExecutionProvider" in available:
            backends["onnx-cuda"] = lambda: OnnxPoseDetector(config, onnx_path, ["cuda"])
        if "TensorrtExecutionProvider" in available:
            backends["onnx-tensorrt"] = lambda: OnnxPoseDetector(config, onnx_path, ["tensorrt"])
        for width, height in sizes:
            frames = frames_at((width, height), 4 if args.quick else 16)
            reference = None
            for name, make in backends.items():
                key = f"{name} {width}x{height}"
                try:
                    detector = make()
                    found = [detector.detect([f])[0] for f in frames]
                    entry: dict[str, object] = {}
                    if reference is None:
                        reference = found
                    else:
                        entry["parity_vs_torch"] = parity(reference, found)
                    for streams in stream_counts:
                        entry[f"{streams}_streams"] = speed(make, frames, streams, seconds)
                except Exception as error:  # a provider that does not load is reported, not fatal
                    entry = {"error": f"{type(error).__name__}: {error}"[:300]}
                report["results"][key] = entry  # type: ignore[index]
                print(f"{key:28s} {json.dumps(entry)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "device_check.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out / 'device_check.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
