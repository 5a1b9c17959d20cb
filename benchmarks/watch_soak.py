"""Soak ``recanon watch``: two looping loopback cameras for a long time, one going down now and then.

Prints, per camera: segments written (and that each is complete: sidecar end record, no temporaries
left), frames anonymized vs frames the camera sent, frames dropped, reconnects, and the resident
memory of the camera's process at its first and last segment.

    PYTHONPATH=sdk:keys:cli:. python benchmarks/watch_soak.py --minutes 30 --out /tmp/soak
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_camera import FakeCameras  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--size", default="240x320", help="HxW of the camera frames")
    parser.add_argument("--segment-minutes", type=float, default=1.0)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--down-every", type=float, default=360.0, help="seconds between outages of camera b")
    parser.add_argument("--down-for", type=float, default=15.0)
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    events_path = args.out / "events.jsonl"
    with FakeCameras(["a", "b"], size=(h, w), fps=args.fps) as cams:
        config = args.out / "cameras.toml"
        config.write_text(
            f'[[camera]]\nname = "a"\nurl = "{cams.url("a", "viewer:s3cret@")}"\n'
            f'[[camera]]\nname = "b"\nurl = "{cams.url("b")}?token=s3cret"\n'
        )
        stop = threading.Event()

        def outages() -> None:
            while not stop.wait(args.down_every):
                cams.cameras["b"].go_down(args.down_for)

        threading.Thread(target=outages, daemon=True).start()
        started = time.time()
        with open(events_path, "w") as events, open(args.out / "stderr.log", "w") as log:
            done = subprocess.run(
                [
                    sys.executable, "-c", "from recanon_cli.main import main; main()", "watch", str(config),
                    "-o", str(args.out / "rec"), "--segment-minutes", str(args.segment_minutes),
                    "--duration", str(args.minutes * 60), "--imgsz", str(args.imgsz), "--json",
                    "--backoff-max", "8", "--status-every", "300",
                ],
                stdout=events,
                stderr=log,
                check=False,
            )  # fmt: skip
        stop.set()
        sent = {name: cam.frames_sent for name, cam in cams.cameras.items()}
        refused = {name: cam.refused for name, cam in cams.cameras.items()}
    wall = time.time() - started
    report = summarize(events_path, args.out / "rec", sent, refused, wall, done.returncode)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


def summarize(events_path: Path, rec: Path, sent: dict, refused: dict, wall: float, code: int) -> dict:
    from recanon_sdk.batch.completion import sidecar_end

    segments = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
    report: dict = {"wall_s": round(wall, 1), "exit_code": code, "cameras": {}}
    for name in ("a", "b"):
        mine = [e for e in segments if e.get("camera") == name and e.get("type") == "segment"]
        complete = sum(
            1
            for e in mine
            if (sidecar_end(e["sidecar"]) or {}).get("complete") is True and Path(e["output"]).is_file()
        )
        temporaries = [p.name for p in (rec / name).glob(".*partial*")] if (rec / name).is_dir() else []
        report["cameras"][name] = {
            "segments": len(mine),
            "segments_complete": complete,
            "segments_ended_by_a_drop": sum(1 for e in mine if e["ended"].startswith("the stream dropped")),
            "frames_anonymized": sum(e["frames"] for e in mine),
            "frames_sent_by_camera": sent[name],
            "frames_dropped": mine[-1]["dropped_total"] if mine else None,
            "reconnects": mine[-1]["reconnects"] if mine else None,
            "connections_refused_while_down": refused[name],
            "rss_first_segment_mib": round(mine[0]["rss"] / 2**20, 1) if mine else None,
            "rss_last_segment_mib": round(mine[-1]["rss"] / 2**20, 1) if mine else None,
            "rss_max_mib": round(max(e["rss"] for e in mine) / 2**20, 1) if mine else None,
            "temporaries_left": temporaries,
            "errors": [e for e in segments if e.get("camera") == name and e.get("type") == "error"],
        }
    return report


if __name__ == "__main__":
    main()
