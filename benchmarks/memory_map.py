"""Where a default anonymize run's memory goes: RSS after each import and setup step, then the run's peak.

One process, one run. It imports what a run imports, step by step (NumPy, OpenCV, PyAV, ONNX Runtime,
OpenVINO where the engine is OpenVINO, recanon), builds
the detector and the anonymizer, then runs ``Anonymizer.process_video`` while a thread samples the RSS
every 20 ms; tracemalloc gives the Python/NumPy share of the peak (frames in the queues, letterboxed
inputs, crops), the rest of the run's growth is native (the engine's activations and arena, the
decoder, libx264). It also says whether torch or Ultralytics were loaded (they must not be).

    python benchmarks/memory_map.py examples/walking.mp4
    python benchmarks/memory_map.py CLIP --engine onnxruntime --batch 1 --queue 2 --frames 300
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--engine", default="auto", help="auto, onnxruntime or openvino")
    parser.add_argument("--batch", type=int, help="AnonymizerConfig.batch_size (default: its default)")
    parser.add_argument("--queue", type=int, help="AnonymizerConfig.queue_size (default: its default)")
    parser.add_argument("--frames", type=int, help="stop after this many frames")
    args = parser.parse_args()

    steps = [("python", rss_mb())]
    modules = ["numpy", "cv2", "av", "onnxruntime"]
    if args.engine == "openvino":
        modules.append("openvino")
    for name in [*modules, "recanon_sdk.anonymizer"]:
        importlib.import_module(name)
        steps.append((name, rss_mb()))
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector

    overrides = {"batch_size": args.batch, "queue_size": args.queue}
    config = AnonymizerConfig(**{k: v for k, v in overrides.items() if v is not None})
    detector = create_pose_detector(config.detector, engine=args.engine)
    label = f"{getattr(detector, 'engine', detector.backend)} {getattr(detector, 'precision', '')}".strip()
    steps.append((f"detector ({label})", rss_mb()))
    anonymizer = Anonymizer(config, detector=detector)
    steps.append(("anonymizer", rss_mb()))

    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    tracemalloc.start()
    sampler.start()
    started = time.perf_counter()
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"memory-map-{os.getpid()}.mp4"
    try:
        result = anonymizer.process_video(args.clip, out, overwrite=True, max_frames=args.frames)
    finally:
        done.set()
        sampler.join()
        for path in (out, out.with_name(out.stem + ".pose.jsonl")):
            path.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    print(f"{args.clip.name}: {result.frames} frames, {result.frames / seconds:.1f} fps; batch "
          f"{config.batch_size}, queue {config.queue_size}")  # fmt: skip
    previous = 0.0
    for name, value in steps:
        print(f"  {name:32s} {value:6.0f} MB  (+{value - previous:.0f})")
        previous = value
    growth = peak[0] - previous
    print(f"  {'run peak':32s} {peak[0]:6.0f} MB  (+{growth:.0f}: Python/NumPy {python_peak:.0f}, "
          f"native {growth - python_peak:.0f})")  # fmt: skip
    heavy = sorted(m for m in ("torch", "torchvision", "ultralytics") if m in sys.modules)
    print(f"  torch/Ultralytics loaded: {', '.join(heavy) or 'none'}")
    extra = sorted(m for m in ("trackers", "supervision", "scipy") if m in sys.modules)
    print(f"  supervision/SciPy loaded: {', '.join(extra) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
