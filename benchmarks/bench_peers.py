"""recanon against its face-only peer deface, whole process against whole process, on the same clips.

For each clip, in one invocation and alternating (the order rotates every round, so a busy machine
slows all alike), it runs as child processes:

* ``deface CLIP -o OUT`` (deface 1.5.0 on ONNX Runtime, its default settings, from its own venv),
* ``recanon anonymize CLIP -o OUT`` (default settings, this checkout's code and interpreter),
* the decode→encode floor: recanon's own reader (PyAV decode) and writer (libx264 with recanon's
  default encoder settings) copying the clip, no model: what no anonymizer on this design can beat.

Each run is timed by wall clock from start to exit (imports and model loading included), and its
peak memory is read two ways: the peak RSS of its largest process (GNU ``time``'s ``%M``; deface pipes
frames through ffmpeg processes whose memory this does not add) and the sampled sum of the RSS of the
child and all its descendants (every 50 ms). ``time`` runs in between because a child forked straight
from this script would report this script's own peak in ``ru_maxrss`` (Linux keeps the high-water
mark across exec). It prints fps = frames / median wall time, the peaks, and the ratio recanon/deface.

Clips, prepared in a temporary folder (both tools read the same files): the shared corridor video cut
to ``--max-frames`` frames, the same clip scaled to 1024×576 and cropped to 768×576, and the shared
GIFs converted to MP4 (deface's reader takes video files).

deface lives in its own virtual environment: ``--deface-venv`` or ``$RECANON_DEFACE_VENV`` (default
``../venvs/deface`` beside the checkout); ``--install`` creates it there
(``python3 -m venv DIR && DIR/bin/pip install deface==1.5.0 onnxruntime``).

    python benchmarks/bench_peers.py                          # 300 corridor frames, 2 rounds
    python benchmarks/bench_peers.py --rounds 3 --gifs all --install
    python benchmarks/bench_peers.py --gifs "" --rounds 3 --also "--detect-every 3 --crop-pose 8"
    python benchmarks/bench_peers.py --gifs "" --max-frames 0 --one-frame --rounds 5   # start-up only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
INTEL = SHARED / "data" / "videos" / "intel"
DEFACE_VENV = Path(os.environ.get("RECANON_DEFACE_VENV", ROOT.parent / "venvs" / "deface"))
DEFACE_REQUIREMENTS = ["deface==1.5.0", "onnxruntime"]
GNU_TIME = "/usr/bin/time"  # GNU time: the child's own peak RSS (%M, in KiB)

FLOOR = """
import sys
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.writer import EncoderConfig, VideoSink
source = VideoSource(sys.argv[1])
info = source.info
with VideoSink(sys.argv[2], time_base=info.time_base, average_rate=info.average_rate,
               sample_aspect_ratio=info.sample_aspect_ratio, config=EncoderConfig()) as sink:
    for frame in source:
        sink.write(frame)
"""


def deface_python(venv: Path, install: bool) -> Path:
    """The deface venv's ``deface`` executable, created with ``install``; else say how and exit."""
    executable = venv / "bin" / "deface"
    if executable.exists():
        return executable
    if not install:
        raise SystemExit(
            f"bench_peers: no deface at {executable}; create it with --install, or:\n"
            f"  python3 -m venv {venv} && {venv}/bin/pip install {' '.join(DEFACE_REQUIREMENTS)}"
        )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", *DEFACE_REQUIREMENTS], check=True)
    return executable


def write_clip(frames, path: Path, rate: Fraction) -> int:
    """Encode RGB ``frames`` to ``path`` (libx264, crf 18: near-lossless input for both tools)."""
    from recanon_sdk.types import Frame
    from recanon_sdk.video.writer import EncoderConfig, VideoSink

    count = 0
    with VideoSink(path, time_base=1 / rate, average_rate=rate, config=EncoderConfig(crf=18)) as sink:
        for i, image in enumerate(frames):
            sink.write(Frame(image=image, pts=i, time_base=1 / rate, index=i))
            count += 1
    return count


def prepare_clips(
    folder: Path, max_frames: int, gifs: str, one_frame: bool = False
) -> dict[str, tuple[Path, int]]:
    """The benchmark clips in ``folder``: name → (path, frames); with ``one_frame`` first a clip of one
    480×270 frame (classroom.gif's first), whose run time is each tool's start-up."""
    import itertools

    import cv2
    from recanon_sdk.video.reader import VideoSource

    clips: dict[str, tuple[Path, int]] = {}
    if one_frame and (INTEL / "classroom.gif").exists():
        path = folder / "one-frame-480x270.mp4"
        first = next(iter(VideoSource(INTEL / "classroom.gif"))).image
        clips[path.stem] = (path, write_clip([first], path, Fraction(10)))
    corridor = INTEL / "one-by-one-person-detection.mp4"
    if corridor.exists() and max_frames > 0:
        info = VideoSource(corridor).info
        rate = info.average_rate or Fraction(10)
        frames = [f.image for f in itertools.islice(VideoSource(corridor), max_frames)]
        path = folder / "corridor-768x432.mp4"
        clips[path.stem] = (path, write_clip(frames, path, rate))

        def to_576(image):
            scaled = cv2.resize(image, (1024, 576), interpolation=cv2.INTER_AREA)
            return scaled[:, 128 : 128 + 768]

        path = folder / "corridor-768x576.mp4"
        clips[path.stem] = (path, write_clip((to_576(f) for f in frames), path, rate))
    chosen = sorted(INTEL.glob("*.gif"))
    if gifs != "all":
        chosen = [p for p in chosen if p.stem in gifs.split(",")] if gifs else []
    for gif in chosen:
        source = VideoSource(gif)
        path = folder / f"{gif.stem}-480x270.mp4"
        clips[path.stem] = (path, write_clip((f.image for f in source), path, source.info.average_rate or 10))
    if not clips:
        raise SystemExit(f"bench_peers: no clips found under {INTEL} (set RECANON_SHARED)")
    return clips


def run_child(command: list[str], output: Path) -> tuple[float, float, float]:
    """Run ``command``; return (wall seconds, its largest process's peak RSS MB, the tree's sampled peak MB).

    The tree's peak is 0 where psutil is not installed.
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    output.unlink(missing_ok=True)
    report, log = output.with_suffix(".maxrss"), output.with_suffix(".log")
    peak = [0.0]
    done = threading.Event()
    with open(log, "wb") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(
            [GNU_TIME, "-f", "%M", "-o", str(report), *command], stdout=subprocess.DEVNULL, stderr=errors
        )

        def sample() -> None:
            if psutil is None:
                return
            try:
                parent = psutil.Process(child.pid)
                while not done.is_set():
                    total = 0
                    for process in [parent, *parent.children(recursive=True)]:
                        try:
                            total += process.memory_info().rss
                        except psutil.Error:
                            continue
                    peak[0] = max(peak[0], total / 2**20)
                    done.wait(0.05)
            except psutil.Error:
                return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        child.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    if child.returncode != 0 or not output.exists() or output.stat().st_size == 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"bench_peers: {command[0]} failed on {command}: exit {child.returncode}\n{tail}")
    return seconds, int(report.read_text().split()[-1]) / 1024, peak[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-frames", type=int, default=300, help="frames of the corridor clips")
    parser.add_argument("--gifs", default="store-aisle-detection,people-detection",
                        help="shared GIFs by stem, comma-separated, 'all' or '' (none)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tool on each clip")
    parser.add_argument("--deface-venv", type=Path, default=DEFACE_VENV, help="deface's virtual environment")
    parser.add_argument("--install", action="store_true", help="create the deface venv if it is missing")
    parser.add_argument("--recanon-args", default="", help="extra arguments for recanon anonymize")
    parser.add_argument(
        "--one-frame", action="store_true", help="also a one-frame clip: each tool's start-up (seconds)"
    )
    parser.add_argument(
        "--also",
        default="",
        metavar="ARGS",
        help="also time recanon anonymize with these arguments, in the same alternation",
    )
    args = parser.parse_args()

    if not Path(GNU_TIME).exists():
        raise SystemExit(f"bench_peers: needs GNU time at {GNU_TIME} (apt-get install time)")
    deface = deface_python(args.deface_venv, args.install)
    recanon = [sys.executable, "-c", "from recanon_cli.main import main; main()", "anonymize"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = prepare_clips(folder, args.max_frames, args.gifs, args.one_frame)

        def recanon_with(extra: str):
            """The command line of ``recanon anonymize`` with ``extra`` arguments."""
            flags = ["--overwrite", "-q", *extra.split()]
            return lambda clip, out: [*recanon, str(clip), "-o", str(out), *flags]

        tools = {
            "deface": lambda clip, out: [str(deface), str(clip), "-o", str(out)],
            "recanon": recanon_with(args.recanon_args),
            "floor": lambda clip, out: [sys.executable, "-c", FLOOR, str(clip), str(out)],
        }
        if args.also:
            tools["also"] = recanon_with(args.also)
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        names = list(tools)
        for round_index in range(args.rounds):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            for clip_name, (clip, _) in clips.items():
                for tool in order:
                    out = folder / f"out-{tool}.mp4"
                    run = run_child(tools[tool](clip, out), out)
                    results.setdefault((clip_name, tool), []).append(run)
                    print(
                        f"  round {round_index + 1} {clip_name:42s} {tool:8s} {run[0]:6.1f} s",
                        file=sys.stderr,
                    )
        load = os.getloadavg()
    print(
        f"\n{os.cpu_count()} CPUs, load average {load[0]:.1f}; {args.rounds} rounds; "
        f"deface from {args.deface_venv}; median wall time per run, whole process"
    )
    print(
        f"{'clip':42s} {'frames':>6s}  {'deface':>7s} {'recanon':>7s} {'ratio':>5s} {'floor':>7s}   "
        f"peak MB: {'deface':>6s} {'recanon':>7s} {'floor':>5s}  (tree sum: deface recanon floor)"
    )
    for clip_name, (_, frames) in clips.items():
        row = {tool: results[clip_name, tool] for tool in tools}
        fps = {tool: frames / statistics.median(r[0] for r in runs) for tool, runs in row.items()}
        rss = {tool: max(r[1] for r in runs) for tool, runs in row.items()}
        tree = {tool: max(r[2] for r in runs) for tool, runs in row.items()}
        print(
            f"{clip_name:42s} {frames:6d}  {fps['deface']:7.2f} {fps['recanon']:7.2f} "
            f"{fps['recanon'] / fps['deface']:5.2f} {fps['floor']:7.2f}   "
            f"         {rss['deface']:6.0f} {rss['recanon']:7.0f} {rss['floor']:5.0f}  "
            f"({tree['deface']:.0f} {tree['recanon']:.0f} {tree['floor']:.0f})"
        )
    if "one-frame-480x270" in clips:
        seconds = {
            tool: statistics.median(r[0] for r in results["one-frame-480x270", tool]) for tool in tools
        }
        print(
            "\nstart-up (the one-frame clip, whole process): "
            + ", ".join(f"{tool} {value:.2f} s" for tool, value in seconds.items())
        )
    if args.also:
        print(f"\nrecanon anonymize {args.also} (the same runs' alternation):")
        for clip_name, (_, frames) in clips.items():
            seconds = {tool: statistics.median(r[0] for r in results[clip_name, tool]) for tool in tools}
            also, peak = frames / seconds["also"], max(r[1] for r in results[clip_name, "also"])
            print(
                f"{clip_name:42s} {also:7.2f} fps, {seconds['deface'] / seconds['also']:5.2f} × deface, "
                f"{seconds['recanon'] / seconds['also']:5.2f} × the default, peak {peak:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
