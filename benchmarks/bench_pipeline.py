"""Throughput of ``anonymize`` against the floors of the same work, measured in one run.

On a real clip (default: the first ``--frames`` frames of the CC-BY walking video in ../shared, else
the bundled sample), each at the same encoder settings:

1. decode → encode                       (video I/O floor)
2. decode → pose → encode                (the detector as ``anonymize`` runs it, incl. its zoom-out pass)
3. decode → pose (single pass) → encode  (the plain model, one inference per frame)
4. anonymize with the blur enhancer      (the product: threads, tracking, enhancement, sidecar)
5. anonymize with the learned GX         (packaged weights, a random deployment secret)

Prints fps and the ratios 4/2 (target ≥ 0.80), 4/3 and 5/4, and GX's time per batch of portraits.
With ``--memory`` it also runs ``recanon anonymize`` in a subprocess on the clip and on the clip
looped 10× and prints the peak RSS. With ``--baseline DIR`` (a checkout of an earlier release, e.g.
``git worktree add /tmp/previous v0.1.0``) it runs ``recanon anonymize`` of this checkout and of
that one on the clip, alternating ``--repeat`` times in fresh processes, and prints the ratio of
their medians (this / previous).

    python benchmarks/bench_pipeline.py --frames 200 --memory
    python benchmarks/bench_pipeline.py --frames 200 --baseline /tmp/previous --repeat 3
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")


from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import PoseBackend, create_pose_detector
from recanon_sdk.streaming import batches as _batches
from recanon_sdk.types import Frame
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.writer import EncoderConfig, VideoSink

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))


def cut_clip(source: Path, frames: int, target: Path, loops: int = 1) -> Path:
    """The first ``frames`` frames of ``source`` (played ``loops`` times in a row) as an H.264 mp4."""
    src = VideoSource(source)
    images = [f.image for f in itertools.islice(src, frames)]
    rate = src.info.average_rate or Fraction(25)
    with VideoSink(target, time_base=1 / rate, average_rate=rate, config=EncoderConfig(crf=18)) as sink:
        for i, image in enumerate(itertools.chain.from_iterable(itertools.repeat(images, loops))):
            sink.write(Frame(image=image, pts=i, time_base=1 / rate, index=i))
    return target


def timed(label: str, work) -> float:
    started = time.perf_counter()
    frames = work()
    seconds = time.perf_counter() - started
    fps = frames / seconds
    print(f"{label:44s} {frames:5d} frames {seconds:7.1f} s {fps:7.2f} fps", flush=True)
    return fps


def transcode(clip: Path, out: Path, detector: PoseBackend | None, batch: int) -> int:
    source = VideoSource(clip)
    count = 0
    with VideoSink(out, time_base=source.info.time_base, average_rate=source.info.average_rate) as sink:
        for frames in _batches(iter(source), batch):
            if detector is not None:
                detector.detect([f.image for f in frames])
            for frame in frames:
                sink.write(frame)
                count += 1
    return count


def peak_rss_mb(clip: Path, out: Path, imgsz: int) -> float:
    """Peak resident memory of ``recanon anonymize`` in a fresh process, from its own ``VmHWM``.

    ``getrusage().ru_maxrss`` is not used: Linux carries it across fork and exec, so a child started
    from this (large) benchmark process would report the parent's size.
    """
    code = (
        "import sys;from recanon_cli.main import main;sys.argv=['recanon','anonymize',"
        f"'{clip}','-o','{out}','--overwrite','--quiet','--imgsz','{imgsz}']\n"
        "try:\n main()\nexcept SystemExit:\n pass\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def cli_seconds(checkout: Path, clip: Path, out: Path) -> float:
    """Wall time of ``recanon anonymize CLIP`` run from ``checkout``'s packages in a fresh process."""
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(str(checkout / part) for part in ("sdk", "keys", "cli"))
    code = "import sys;from recanon_cli.main import main;sys.argv=['recanon',*sys.argv[1:]];main()"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, "anonymize", str(clip), "-o", str(out), "--overwrite", "--quiet"],
        env=env,
        check=True,
        cwd=out.parent,
    )
    return time.perf_counter() - started


def compare_releases(baseline: Path, clip: Path, frames: int, repeat: int, tmp_path: Path) -> None:
    """This checkout against ``baseline`` (a checkout of an earlier release), alternating, in one run."""
    times: dict[str, list[float]] = {"this": [], "previous": []}
    for _ in range(repeat):
        for label, checkout in (("previous", baseline), ("this", ROOT)):
            times[label].append(cli_seconds(checkout, clip, tmp_path / f"release-{label}.mp4"))
    median = {label: sorted(values)[len(values) // 2] for label, values in times.items()}
    for label in ("previous", "this"):
        runs = ", ".join(f"{t:.1f}" for t in times[label])
        print(f"recanon anonymize, {label:8s} release: {frames / median[label]:6.2f} fps (runs {runs} s)")
    print(f"ratio this / previous release (fps, whole process): {median['previous'] / median['this']:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS at 1× and 10× length")
    parser.add_argument("--memory-imgsz", type=int, default=320, help="detector size for the memory runs")
    parser.add_argument(
        "--gx", type=Path, help="GX weights to time (.safetensors or .onnx; default: the packaged GX)"
    )
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier release to compare with")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per release (--baseline)")
    parser.add_argument("--only-releases", action="store_true", help="with --baseline: skip steps 1-5")
    args = parser.parse_args()
    source = args.clip or SHARED / "data" / "videos" / "intel" / "one-by-one-person-detection.mp4"
    if not source.exists():
        source = ROOT / "examples" / "walking.mp4"
    config = AnonymizerConfig()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        clip = cut_clip(source, args.frames, tmp_path / "clip.mp4")
        clip_info = VideoSource(clip).info
        if args.baseline is not None:
            compare_releases(args.baseline.resolve(), clip, args.frames, args.repeat, tmp_path)
            if args.only_releases:
                return 0
        print(
            f"clip: {args.frames} frames of {source.name}, {clip_info.width}×{clip_info.height}; "
            f"detector imgsz {config.detector.imgsz_for(clip_info.width, clip_info.height)}, zoom-out "
            f"{config.detector.zoom_out} @ {config.detector.zoom_out_imgsz}; x264 {config.encoder.preset} "
            f"crf {config.encoder.crf}"
        )
        detector = create_pose_detector(config.detector)  # the default backend, as `recanon anonymize`
        single = create_pose_detector(replace(config.detector, zoom_out=0.0))
        print(f"pose backend {detector.backend}: {detector.weights.name}")
        detector.detect([VideoSource(clip).__iter__().__next__().image])  # warm up
        io_fps = timed(
            "1. decode → encode", lambda: transcode(clip, tmp_path / "a.mp4", None, config.batch_size)
        )
        pose_fps = timed(
            "2. decode → pose (as anonymize) → encode",
            lambda: transcode(clip, tmp_path / "b.mp4", detector, config.batch_size),
        )
        single_fps = timed(
            "3. decode → pose (single pass) → encode",
            lambda: transcode(clip, tmp_path / "c.mp4", single, config.batch_size),
        )
        anonymizer = Anonymizer(config, detector=detector)
        anon_fps = timed(
            "4. anonymize (blur)",
            lambda: anonymizer.process_video(clip, tmp_path / "d.mp4", overwrite=True).frames,
        )
        print(f"ratio anonymize / (decode → pose → encode)  {anon_fps / pose_fps:5.2f}   (target ≥ 0.80)")
        print(f"ratio anonymize / (decode → single-pass pose → encode) {anon_fps / single_fps:5.2f}")
        print(f"ratio anonymize / (decode → encode)                 {anon_fps / io_fps:5.2f}")
        gx_weights = str(args.gx) if args.gx else None
        gx_config = replace(config, enhancer="gx", model_secret=os.urandom(32), gx_weights=gx_weights)
        gx_anonymizer = Anonymizer(gx_config, detector=detector)
        gx_fps = timed(
            "5. anonymize (GX)",
            lambda: gx_anonymizer.process_video(clip, tmp_path / "e.mp4", overwrite=True).frames,
        )
        print(f"ratio anonymize GX / anonymize blur             {gx_fps / anon_fps:5.2f}")
        import numpy as np

        portraits = [np.random.default_rng(i).integers(0, 256, (300, 120, 3), np.uint8) for i in range(8)]
        gx_anonymizer.enhancer.enhance(portraits)  # warm up
        started = time.perf_counter()
        for _ in range(5):
            gx_anonymizer.enhancer.enhance(portraits)
        per_batch = (time.perf_counter() - started) / 5
        print(f"GX on a batch of 8 portraits (300×120 → 128×64 → back): {1000 * per_batch:.0f} ms "
              f"({1000 * per_batch / 8:.1f} ms per portrait)")  # fmt: skip
        if args.memory:
            long_clip = cut_clip(source, args.frames, tmp_path / "long.mp4", loops=10)
            short_mb = peak_rss_mb(clip, tmp_path / "m1.mp4", args.memory_imgsz)
            long_mb = peak_rss_mb(long_clip, tmp_path / "m10.mp4", args.memory_imgsz)
            print(
                f"peak RSS anonymize: {args.frames} frames {short_mb:.0f} MB, {10 * args.frames} frames "
                f"{long_mb:.0f} MB (ratio {long_mb / short_mb:.2f}; imgsz {args.memory_imgsz})"
            )
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    raise SystemExit(main())
