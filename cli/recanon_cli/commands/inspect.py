"""``recanon inspect``: a summary of a pose sidecar (and, once key management lands, of key files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from recanon_sdk.timecode import format_clock

from recanon_cli._console import fail, stdout


def inspect_file(
    path: Annotated[Path, typer.Argument(help="A pose sidecar (*.pose.jsonl).", show_default=False)],
) -> None:
    """Summarize a pose sidecar: source, models, frames, persons, tracks, failed-closed frames.

    Example: recanon inspect walk.anon.pose.jsonl
    """
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.video.sidecar import Sidecar

    try:
        sidecar = Sidecar(path)
        frames = persons = held = obscured = 0
        tracks: dict[int, list] = {}  # id -> [first time, last time, frames]
        first_time = last_time = None
        for frame in sidecar.frames():
            frames += 1
            obscured += frame.status != "ok"
            people = frame.people
            n_held = int(people.held.sum()) if people.held is not None else 0
            held += n_held
            persons += len(people) - n_held
            if people.track_id is not None:
                for track in {int(t) for t in people.track_id if t >= 0}:
                    span = tracks.setdefault(track, [frame.time, frame.time, 0])
                    span[1] = frame.time
                    span[2] += 1
            if frame.time is not None:
                first_time = frame.time if first_time is None else first_time
                last_time = frame.time
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    header = sidecar.header
    source = header.get("source", {})
    pose = header.get("models", {}).get("pose", {})
    stdout.print(f"[bold]{path}[/bold]  ({header.get('schema')}, written by {header.get('tool')})")
    stdout.print(
        f"  source     {source.get('name')}  {source.get('width')}×{source.get('height')}, "
        f"time base {source.get('time_base')}",
        markup=False,
    )
    if pose:
        stdout.print(
            f"  pose model {pose.get('name')} sha256 {str(pose.get('sha256'))[:16]}… "
            f"imgsz {pose.get('imgsz')}",
            markup=False,
        )
    stdout.print(f"  enhancer   {header.get('models', {}).get('enhancer', {}).get('name')}", markup=False)
    span = "" if first_time is None else f", {first_time:.3f}–{last_time:.3f} s"
    stdout.print(f"  frames     {frames}{span}", markup=False)
    stdout.print(
        f"  persons    {persons} detections, {len(tracks)} tracks, {held} held regions", markup=False
    )
    stdout.print(f"  obscured   {obscured} frames failed closed", markup=False)
    for track, (first, last, count) in sorted(tracks.items())[:20]:
        span = f"{format_clock(first, millis=True)}–{format_clock(last, millis=True)}"
        when = "" if first is None else f"  {span}"
        stdout.print(f"  track {track:<4d} {count} frames{when}", markup=False)
    if len(tracks) > 20:
        stdout.print(f"  … and {len(tracks) - 20} more tracks", markup=False)
    originals = header.get("originals")
    if isinstance(originals, dict):
        sealed = (sidecar.end or {}).get("originals") or {}
        stdout.print(
            f"  originals  {originals.get('name')} sealed to deployment {originals.get('deployment_id')}"
            f" ({'lossless' if originals.get('lossless') else 'lossy'}"
            + (f", {sealed['size'] / 1e6:.1f} MB" if "size" in sealed else "")
            + "): exact recovery by its key holders",
            markup=False,
        )
    if not sidecar.complete:
        stdout.print(
            "  [yellow]incomplete[/yellow]: no end line (the run did not finish); "
            "the frames above are a valid prefix"
        )
