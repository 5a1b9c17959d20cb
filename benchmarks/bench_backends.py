"""Pose-stage and whole-pipeline throughput of every pose engine and precision, in one run.

Engines: ONNX Runtime f32 (the baseline), OpenVINO f32 and bf16 (where ``openvino`` is installed; bf16
where the CPU has it natively), and with ``--torch`` the Ultralytics/torch backend. Each detector runs
the default video setting (the main pass at the clip's automatic size plus the zoom-out pass) on the
same frames, ``--batch`` frames per call and per network run; the pose stage is timed batch by batch
with the engines alternating on each batch, so a busy machine slows all alike. For every batch size ×
thread count it prints ms/frame, fps and the ratio to ONNX Runtime f32 at the same batch size and
threads, and whether every engine found the same number of people in every frame. Then (unless
``--no-pipeline``) ``Anonymizer.process_video`` runs once per engine (batch and threads as the first
given) and prints whole-pipeline fps.

With ``--ort-settings`` it also times ONNX Runtime sessions with other settings (graph optimization
level, memory arena off, default intra-op threads) on the main pass's input, against the setting
recanon uses.

    python benchmarks/bench_backends.py --frames 40 --batch 1 2 4 --threads 1 2
    python benchmarks/bench_backends.py --clip my.mp4 --torch --ort-settings
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("YOLO_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
BASELINE = "onnxruntime f32"


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``size`` items (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def make_detectors(config, threads: int, with_torch: bool) -> dict[str, Any]:
    """Every engine/precision available here, by name, each with ``threads`` threads."""
    from recanon_sdk.detect.engine import openvino_installed, openvino_native_bf16
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector

    detectors: dict[str, Any] = {BASELINE: OnnxPoseDetector(config, "yolo11n-pose-onnx", threads=threads)}
    if openvino_installed():
        from recanon_sdk.detect.openvino_pose import OpenVinoPoseDetector

        for precision in ("f32", "bf16") if openvino_native_bf16() else ("f32",):
            detectors[f"openvino {precision}"] = OpenVinoPoseDetector(
                config, "yolo11n-pose-onnx", precision=precision, threads=threads
            )
    if with_torch:
        import torch
        from recanon_sdk.detect.pose import PoseDetector

        torch.set_num_threads(threads)
        detectors["torch f32"] = PoseDetector(config)
    return detectors


def time_pose_stage(detectors: dict[str, Any], images: list, batch: int) -> tuple[dict[str, float], int]:
    """ms/frame of each detector (alternating on every batch) and the frames where all agree on counts."""
    for detector in detectors.values():  # warm up: the first calls allocate and plan
        detector.detect(images[:batch])
    seconds = dict.fromkeys(detectors, 0.0)
    counts: dict[str, list[int]] = {name: [] for name in detectors}
    for chunk in batches(images, batch):
        for name, detector in detectors.items():
            started = time.perf_counter()
            found = detector.detect(list(chunk))
            seconds[name] += time.perf_counter() - started
            counts[name] += [len(p) for p in found]
    agree = sum(len(set(row)) == 1 for row in zip(*counts.values(), strict=True))
    return {name: 1000 * s / len(images) for name, s in seconds.items()}, agree


def time_ort_settings(images: list, config, threads: int, repeats: int = 5) -> None:
    """Median ms per main-pass call of ONNX Runtime sessions with other settings, alternating."""
    import onnxruntime as ort
    from recanon_sdk.detect.weights import resolve_pose_weights
    from recanon_sdk.detect.yolo_io import input_batch, letterbox

    h, w = images[0].shape[:2]
    size = config.imgsz_for(w, h)
    batch = input_batch([letterbox(image, (size, size), rect=True)[0] for image in images[:1]])
    path = str(resolve_pose_weights("yolo11n-pose-onnx").path)
    level = ort.GraphOptimizationLevel
    settings = {
        f"recanon's (ALL, arena, {threads} threads)": (level.ORT_ENABLE_ALL, True, threads),
        "graph optimization BASIC": (level.ORT_ENABLE_BASIC, True, threads),
        "graph optimization EXTENDED": (level.ORT_ENABLE_EXTENDED, True, threads),
        "memory arena off": (level.ORT_ENABLE_ALL, False, threads),
        "intra-op threads: ORT default": (level.ORT_ENABLE_ALL, True, None),
    }
    sessions = {}
    for name, (opt, arena, intra) in settings.items():
        options = ort.SessionOptions()
        options.graph_optimization_level, options.enable_cpu_mem_arena = opt, arena
        if intra is not None:
            options.intra_op_num_threads, options.inter_op_num_threads = intra, 1
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        sessions[name].run(None, {"images": batch})
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(repeats):
        for name, session in sessions.items():
            started = time.perf_counter()
            session.run(None, {"images": batch})
            times[name].append(1000 * (time.perf_counter() - started))
    base = statistics.median(next(iter(times.values())))
    print(f"\nONNX Runtime settings, one {batch.shape[3]}×{batch.shape[2]} input, median of {repeats}:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:38s} {median:7.1f} ms   ratio {base / median:4.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", type=Path, help="video (default: the shared corridor clip, else the sample)"
    )
    parser.add_argument("--frames", type=int, default=40, help="frames from the start of the clip")
    parser.add_argument("--batch", type=int, nargs="+", default=[4], help="frames per detect call")
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="inference threads")
    parser.add_argument("--torch", action="store_true", help="also time the torch backend")
    parser.add_argument("--ort-settings", action="store_true", help="also time ONNX Runtime settings")
    parser.add_argument("--no-pipeline", action="store_true", help="time only the pose stage")
    args = parser.parse_args()

    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.video.reader import VideoSource

    source = args.clip or SHARED / "data" / "videos" / "intel" / "one-by-one-person-detection.mp4"
    if not source.exists():
        source = ROOT / "examples" / "walking.mp4"
    config = AnonymizerConfig()
    images = [f.image for f in itertools.islice(VideoSource(source), args.frames)]
    h, w = images[0].shape[:2]
    print(
        f"clip: {len(images)} frames of {source.name}, {w}×{h}; imgsz {config.detector.imgsz_for(w, h)}, "
        f"zoom-out {config.detector.zoom_out} @ {config.detector.zoom_out_imgsz}; {os.cpu_count()} CPUs"
    )
    print(f"{'engine':18s} batch threads  ms/frame     fps  ratio  counts agree")
    for threads in args.threads:
        detectors = make_detectors(config.detector, threads, args.torch)
        for batch in args.batch:
            for detector in detectors.values():
                detector.engine_batch = batch  # frames per network call, not only per detect() call
            ms, agree = time_pose_stage(detectors, images, batch)
            for name, value in ms.items():
                print(
                    f"{name:18s} {batch:5d} {threads:7d} {value:9.1f} {1000 / value:7.2f} "
                    f"{ms[BASELINE] / value:6.2f}  {agree}/{len(images)}"
                )
    if args.ort_settings:
        time_ort_settings(images, config.detector, args.threads[0])

    if not args.no_pipeline:
        from recanon_sdk.types import Frame
        from recanon_sdk.video.writer import EncoderConfig, VideoSink

        detectors = make_detectors(config.detector, args.threads[0], args.torch)
        config = AnonymizerConfig(batch_size=args.batch[0])
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "clip.mp4"
            rate = VideoSource(source).info.average_rate or Fraction(25)
            with VideoSink(clip, time_base=1 / rate, average_rate=rate, config=EncoderConfig(crf=18)) as sink:
                for i, image in enumerate(images):
                    sink.write(Frame(image=image, pts=i, time_base=1 / rate, index=i))
            fps = {}
            for name, detector in detectors.items():
                anonymizer = Anonymizer(config, detector=detector)
                started = time.perf_counter()
                output = Path(tmp) / f"{name.replace(' ', '-')}.mp4"
                frames = anonymizer.process_video(clip, output, overwrite=True).frames
                fps[name] = frames / (time.perf_counter() - started)
        print(f"\nanonymize (batch {args.batch[0]}, threads {args.threads[0]}):")
        for name, value in fps.items():
            print(f"  {name:18s} {value:6.2f} fps   ratio {value / fps[BASELINE]:4.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
