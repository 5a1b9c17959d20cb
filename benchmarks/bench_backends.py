"""Pose-stage and whole-pipeline throughput: the torch (Ultralytics) backend against ONNX Runtime.

Same clip, same run, same thread count for both. The pose stage is timed batch by batch, torch and
ONNX alternating on the same batch, so a busy machine slows both alike; then (unless ``--no-pipeline``)
``Anonymizer.process_video`` runs once with each detector injected. Prints fps, the ratio onnx/torch
(target ≥ 1.8) and whether both found the same number of people in every frame.

    python benchmarks/bench_backends.py --frames 60 --threads 2        # the packaged ONNX model
    python benchmarks/bench_backends.py --onnx exported/yolo11n-pose.onnx   # another export
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="video (default: the shared walking clip, else the sample)")
    parser.add_argument("--frames", type=int, default=60, help="frames from the start of the clip")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads per backend")
    parser.add_argument("--onnx", type=Path, help="an exported pose .onnx (default: the packaged one)")
    parser.add_argument("--no-pipeline", action="store_true", help="time only the pose stage")
    args = parser.parse_args()

    import torch
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig, _batches
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector
    from recanon_sdk.detect.pose import PoseDetector
    from recanon_sdk.video.reader import VideoSource

    torch.set_num_threads(args.threads)
    source = args.clip or SHARED / "data" / "videos" / "intel" / "one-by-one-person-detection.mp4"
    if not source.exists():
        source = ROOT / "examples" / "walking.mp4"
    config = AnonymizerConfig()
    images = [f.image for f in itertools.islice(VideoSource(source), args.frames)]
    h, w = images[0].shape[:2]

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        onnx_path = args.onnx
        if onnx_path is None:
            from recanon_sdk.detect.weights import resolve_pose_weights

            onnx_path = resolve_pose_weights("yolo11n-pose-onnx").path
        torch_detector = PoseDetector(config.detector)
        onnx_detector = OnnxPoseDetector(config.detector, onnx_path, threads=args.threads)
        print(
            f"clip: {len(images)} frames of {source.name}, {w}×{h}; imgsz {config.detector.imgsz_for(w, h)}, "
            f"zoom-out "
            f"{config.detector.zoom_out} @ {config.detector.zoom_out_imgsz}; batch {config.batch_size}; "
            f"threads {args.threads}; onnxruntime providers {', '.join(onnx_detector.providers)}"
        )
        for detector in (torch_detector, onnx_detector):  # warm up (first calls allocate and plan)
            detector.detect(images[: config.batch_size])

        seconds = {"torch": 0.0, "onnx": 0.0}
        counts: dict[str, list[int]] = {"torch": [], "onnx": []}
        for batch in _batches(images, config.batch_size):
            for name, detector in (("torch", torch_detector), ("onnx", onnx_detector)):
                started = time.perf_counter()
                found = detector.detect(batch)
                seconds[name] += time.perf_counter() - started
                counts[name] += [len(p) for p in found]
        fps = {name: len(images) / s for name, s in seconds.items()}
        agree = sum(a == b for a, b in zip(counts["torch"], counts["onnx"], strict=True))
        print(f"pose stage   torch {fps['torch']:6.2f} fps   onnx {fps['onnx']:6.2f} fps   ", end="")
        print(f"ratio onnx/torch {fps['onnx'] / fps['torch']:4.2f}  (target ≥ 1.8)")
        print(
            f"people per frame agree in {agree}/{len(images)} frames ({sum(counts['torch'])} torch, ", end=""
        )
        print(f"{sum(counts['onnx'])} onnx detections)")

        if not args.no_pipeline:
            from recanon_sdk.video.writer import EncoderConfig, VideoSink

            clip = tmp_path / "clip.mp4"
            info = VideoSource(source).info
            rate = info.average_rate or Fraction(25)
            with VideoSink(clip, time_base=1 / rate, average_rate=rate, config=EncoderConfig(crf=18)) as sink:
                from recanon_sdk.types import Frame

                for i, image in enumerate(images):
                    sink.write(Frame(image=image, pts=i, time_base=1 / rate, index=i))
            pipeline = {}
            for name, detector in (("torch", torch_detector), ("onnx", onnx_detector)):
                anonymizer = Anonymizer(config, detector=detector)
                started = time.perf_counter()
                frames = anonymizer.process_video(clip, tmp_path / f"{name}.mp4", overwrite=True).frames
                pipeline[name] = frames / (time.perf_counter() - started)
            print(
                f"anonymize    torch {pipeline['torch']:6.2f} fps   onnx {pipeline['onnx']:6.2f} fps   ",
                end="",
            )
            print(f"ratio onnx/torch {pipeline['onnx'] / pipeline['torch']:4.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
