"""Batch throughput on this machine: one pipeline vs ``--jobs 2`` vs Ray (local, 2 CPUs), in one run.

Cuts ``--clips`` clips of ``--frames`` frames each from the CC-BY walking video in ../shared (the
bundled sample without it), then anonymizes them all (default settings: blur, the packaged ONNX pose
model) three ways and prints, per way: wall time, frames/s, speed-up over one pipeline, scaling
efficiency (speed-up / workers) and the peak resident memory per worker process. For Ray it also
prints what Ray itself costs: ``ray.init`` and the round trip of an empty task.

With ``--memory`` it runs ``--jobs 2`` again on the clips ×1 and ×10 (ten copies of each clip) and
prints the peak memory per worker for both: it must not grow with the length of the batch.

    PYTHONPATH=sdk:keys:cli python benchmarks/bench_batch.py --clips 8 --frames 48 [--memory]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

from recanon_sdk.batch import anonymize_many
from recanon_sdk.batch.api import cpu_count
from recanon_sdk.types import Frame
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.writer import EncoderConfig, VideoSink

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
FOOTAGE = SHARED / "data" / "videos" / "intel" / "one-by-one-person-detection.mp4"


def looped_images(source: Path):
    """The frames of ``source`` over and over, decoded as they are needed (``itertools.cycle`` would
    keep every frame in this process's memory and inflate the in-process run's peak)."""
    while True:
        yield from (f.image for f in VideoSource(source))


def cut_clips(source: Path, clips: int, frames: int, folder: Path) -> list[Path]:
    """``clips`` consecutive pieces of ``frames`` frames of ``source`` (looping if it is short)."""
    folder.mkdir(parents=True, exist_ok=True)
    video = VideoSource(source)
    rate = video.info.average_rate or Fraction(25)
    stream = looped_images(source)
    paths = []
    for k in range(clips):
        path = folder / f"clip{k:02d}.mp4"
        with VideoSink(path, time_base=1 / rate, average_rate=rate, config=EncoderConfig(crf=18)) as sink:
            for i in range(frames):
                sink.write(Frame(image=next(stream), pts=i, time_base=1 / rate, index=i))
        paths.append(path)
    return paths


def run(label: str, inputs: Path, out: Path, **kwargs) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = anonymize_many([inputs], out, **kwargs)
    wall = time.perf_counter() - started
    failed = [r for r in report.results if r.status != "done"]
    if failed:
        raise SystemExit(f"{label}: {len(failed)} files failed: {failed[0].error}")
    per_worker: dict[str, float] = {}
    for r in report.results:
        per_worker[r.worker or "?"] = max(per_worker.get(r.worker or "?", 0.0), r.peak_rss_mib or 0.0)
    trajectory: dict[str, list[float]] = {}
    for r in sorted(report.results, key=lambda r: r.index):
        trajectory.setdefault(r.worker or "?", []).append(r.peak_rss_mib or 0.0)
    return {
        "trajectory": trajectory,
        "mode": label,
        "wall_s": round(wall, 2),
        "files": len(report.results),
        "frames": report.frames,
        "fps": round(report.frames / wall, 2),
        "file_seconds_sum": round(sum(r.seconds for r in report.results), 2),
        "workers": len(per_worker),
        "peak_rss_mib_per_worker": sorted(per_worker.values()),
    }


def ray_costs(tasks: int = 20) -> dict:
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    init_s = time.perf_counter() - started

    @ray.remote(num_cpus=1)
    def noop(x: int) -> int:
        return x

    ray.get([noop.remote(i) for i in range(2)])  # warm the two workers
    rounds = []
    for i in range(tasks):
        t = time.perf_counter()
        ray.get(noop.remote(i))
        rounds.append(time.perf_counter() - t)
    return {
        "ray_init_s": round(init_s, 2),
        "empty_task_round_trip_ms": round(1000 * statistics.median(rounds), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument(
        "--source", type=Path, default=FOOTAGE if FOOTAGE.exists() else ROOT / "examples" / "walking.mp4"
    )
    parser.add_argument("--memory", action="store_true", help="also: peak memory per worker, batch ×1 vs ×10")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="only the memory comparison")
    parser.add_argument(
        "--memory-factor", type=int, default=10, help="the long batch is this many times longer"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recanon-bench-batch-"))
    try:
        clips = cut_clips(args.source, args.clips, args.frames, work / "in")
        info = VideoSource(clips[0]).info
        print(
            f"{args.clips} clips × {args.frames} frames, {info.width}×{info.height}, {args.source.name}; "
            f"{cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
        )
        rows = []
        if not args.memory_only:
            rows += [
                run("sequential (1 pipeline, 2 threads)", work / "in", work / "seq", jobs=1),
                run("--jobs 2 (2 processes, 1 thread each)", work / "in", work / "jobs2", jobs=2),
            ]
        costs = {}
        if not args.no_ray and not args.memory_only:
            costs = ray_costs()
            rows.append(run("Ray local, 2 CPUs (1 task per file)", work / "in", work / "ray", ray="auto"))
            import ray

            ray.shutdown()
        base = rows[0]["wall_s"] if rows else 1.0
        for row, workers in zip(rows, (1, 2, 2), strict=False):
            row["speedup"] = round(base / row["wall_s"], 2)
            row["efficiency"] = round(row["speedup"] / workers, 2)  # speed-up per worker asked for
        if costs:
            ray_row = rows[-1]
            costs["overhead_per_task_s_vs_jobs2"] = round(
                (ray_row["wall_s"] - rows[1]["wall_s"]) / args.clips, 2
            )
        header = f"{'mode':40} {'wall s':>8} {'fps':>7} {'speed-up':>9} {'efficiency':>11}"
        if rows:
            print(header + "  peak RSS per worker (MiB)")
        for row in rows:
            print(f"{row['mode']:40} {row['wall_s']:8.1f} {row['fps']:7.2f} {row['speedup']:9.2f} "
                  f"{row['efficiency']:11.2f}  {row['peak_rss_mib_per_worker']}")  # fmt: skip
        if costs:
            print(f"Ray: init {costs['ray_init_s']} s (not in the wall times above), empty task round trip "
                  f"{costs['empty_task_round_trip_ms']} ms, wall per file over --jobs 2: "
                  f"{costs['overhead_per_task_s_vs_jobs2']:+.2f} s")  # fmt: skip
        result = {"rows": rows, "ray": costs}
        if args.memory:
            long_in = work / "in10"
            for copy in range(args.memory_factor):
                (long_in / f"copy{copy}").mkdir(parents=True)
                for clip in clips:
                    os.link(clip, long_in / f"copy{copy}" / clip.name)
            short = run("memory: --jobs 2, batch ×1", work / "in", work / "m1", jobs=2)
            long = run(f"memory: --jobs 2, batch ×{args.memory_factor}", long_in, work / "m10", jobs=2)
            for row in (short, long):
                print(
                    f"{row['mode']:32} {row['files']:4d} files {row['frames']:6d} frames "
                    f"{row['wall_s']:6.1f} s   peak RSS per worker {row['peak_rss_mib_per_worker']} MiB"
                )
                for worker, peaks in row["trajectory"].items():
                    marks = [peaks[0], peaks[len(peaks) // 4], peaks[len(peaks) // 2], peaks[-1]]
                    print(
                        f"    worker {worker}: {len(peaks)} files, peak after 1st / ¼ / ½ / all: {marks} MiB"
                    )
            result["memory"] = [short, long]
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
