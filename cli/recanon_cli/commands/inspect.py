"""``recanon inspect``: a summary of a pose sidecar (and, once key management lands, of key files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from recanon_sdk.timecode import format_clock

from recanon_cli._console import stdout
from recanon_cli._untrusted import clean, fail_clean, say

#: At most this many distinct tracks are summarized (memory stays bounded on any file).
MAX_TRACKS = 100_000


def _field(mapping: Any, *keys: str) -> Any:
    """``mapping[k1][k2]…`` or ``None`` where a level is missing or not an object."""
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def inspect_file(
    path: Annotated[Path, typer.Argument(help="A pose sidecar (*.pose.jsonl).", show_default=False)],
) -> None:
    """Summarize a pose sidecar: source, models, frames, persons, tracks, failed-closed frames.

    Everything shown comes from the file as it is (inspect checks no signature: use recanon verify);
    text from it is printed literally, with control characters escaped.

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
                if len(tracks) > MAX_TRACKS:
                    fail_clean(
                        f"'{path}' has more than {MAX_TRACKS:,} tracks: too many to summarize",
                        "check that it is a sidecar recanon wrote",
                    )
            if frame.time is not None:
                first_time = frame.time if first_time is None else first_time
                last_time = frame.time
    except RecanonError as error:
        fail_clean(error.message, error.hint)
    header = sidecar.header
    source = _field(header, "source") or {}
    pose = _field(header, "models", "pose") or {}
    say(stdout, f"{path}  ({header.get('schema')}, written by {header.get('tool')})", style="bold")
    say(
        stdout,
        f"  source     {_field(source, 'name')}  {_field(source, 'width')}×{_field(source, 'height')}, "
        f"time base {_field(source, 'time_base')}",
    )
    if pose:
        say(
            stdout,
            f"  pose model {_field(pose, 'name')} sha256 {clean(_field(pose, 'sha256'), 16)}… "
            f"imgsz {_field(pose, 'imgsz')}",
        )
    say(stdout, f"  enhancer   {_field(header, 'models', 'enhancer', 'name')}")
    span = "" if first_time is None else f", {first_time:.3f}–{last_time:.3f} s"
    say(stdout, f"  frames     {frames}{span}")
    say(stdout, f"  persons    {persons} detections, {len(tracks)} tracks, {held} held regions")
    say(stdout, f"  obscured   {obscured} frames failed closed")
    for track, (first, last, count) in sorted(tracks.items())[:20]:
        when = (
            "" if first is None else f"  {format_clock(first, millis=True)}–{format_clock(last, millis=True)}"
        )
        say(stdout, f"  track {track:<4d} {count} frames{when}")
    if len(tracks) > 20:
        say(stdout, f"  … and {len(tracks) - 20} more tracks")
    originals = header.get("originals")
    if isinstance(originals, dict):
        size = _field(sidecar.end, "originals", "size")
        lossless = "lossless" if originals.get("lossless") is True else "lossy"
        say(
            stdout,
            f"  originals  {originals.get('name')} sealed to deployment {originals.get('deployment_id')}"
            f" ({lossless}"
            + (f", {size / 1e6:.1f} MB" if type(size) is int else "")
            + "): exact recovery by its key holders",
        )
    if not sidecar.complete:
        stdout.print(
            "  [yellow]incomplete[/yellow]: no end line (the run did not finish); "
            "the frames above are a valid prefix"
        )
