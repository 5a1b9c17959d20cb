"""``recanon inspect``: a summary of a pose sidecar, as text or one JSON record, and its people as CSV."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from recanon_sdk.timecode import format_clock

from recanon_cli._console import stderr, stdout
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


def summarize(path: Path) -> tuple[Any, dict[str, Any]]:
    """Read the sidecar at ``path`` once: the :class:`~recanon_sdk.video.sidecar.Sidecar` and its
    summary (counts, time span, tracks), as the JSON record prints it."""
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
    summary = {
        "path": str(path),
        "schema": header.get("schema"),
        "tool": header.get("tool"),
        "complete": sidecar.complete,
        "source": _field(header, "source"),
        "models": _field(header, "models"),
        "anonymization": _field(header, "anonymization"),
        "frames": frames,
        "first_time": first_time,
        "last_time": last_time,
        "persons": persons,
        "held_regions": held,
        "obscured_frames": obscured,
        "tracks": [
            {"id": track, "frames": count, "first_time": first, "last_time": last}
            for track, (first, last, count) in sorted(tracks.items())
        ],
        "originals": header.get("originals") if isinstance(header.get("originals"), dict) else None,
    }
    return sidecar, summary


def inspect_file(
    path: Annotated[Path, typer.Argument(help="A pose sidecar (*.pose.jsonl).", show_default=False)],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the summary as one JSON record (one line) on stdout instead of text; every "
            "track is listed. Default: off.",
        ),
    ] = False,
    csv_to: Annotated[
        str | None,
        typer.Option(
            "--csv",
            help="Write the people as CSV, one row per person and frame (frame, time, status, track "
            "id, box, region, x/y/conf per keypoint), to FILE or to stdout with '-'. Default: none.",
            show_default=False,
            metavar="FILE|-",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --csv file. Default: off.")
    ] = False,
) -> None:
    """Summarize a pose sidecar: source, models, frames, persons, tracks, failed-closed frames.

    Everything shown comes from the file as it is (inspect checks no signature: use recanon verify);
    text from it is printed literally, with control characters escaped.

    Examples:

      recanon inspect walk.anon.pose.jsonl

      recanon inspect walk.anon.pose.jsonl --json | jq .tracks

      recanon inspect walk.anon.pose.jsonl --csv people.csv
    """
    if as_json and csv_to == "-":
        fail_clean("--json and --csv - would both write to stdout", "write the CSV to a file: --csv FILE")
    sidecar, summary = summarize(path)
    if csv_to is not None:
        _export_csv(sidecar, path, csv_to, overwrite=overwrite)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")  # ASCII: text from the file cannot drive a terminal
        return
    if csv_to == "-":
        return
    _print_summary(path, sidecar, summary)


def _export_csv(sidecar: Any, path: Path, target: str, *, overwrite: bool) -> None:
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.video.atomic import check_output, commit, discard, temporary_name

    from recanon_cli.commands.inspect_rows import write_csv

    if target == "-":
        write_csv(sidecar, sys.stdout)
        sys.stdout.flush()
        return
    out = Path(target)
    try:
        check_output(out, overwrite=overwrite, inputs=(path,))
    except RecanonError as error:
        fail_clean(error.message, error.hint)
    temporary = temporary_name(out)
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            rows = write_csv(sidecar, handle)
        commit(temporary, out)
    except BaseException:
        discard(temporary)
        raise
    say(stderr, f"wrote {rows} row{'' if rows == 1 else 's'} to {out}")


def _print_summary(path: Path, sidecar: Any, summary: dict[str, Any]) -> None:
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
            f"  pose model {_field(pose, 'name')} sha256 {clean(_field(pose, 'sha256'), 16)} "
            f"imgsz {_field(pose, 'imgsz')}",
        )
    say(stdout, f"  enhancer   {_field(header, 'models', 'enhancer', 'name')}")
    first_time, last_time = summary["first_time"], summary["last_time"]
    span = "" if first_time is None else f", {first_time:.3f}–{last_time:.3f} s"
    frames, tracks = summary["frames"], summary["tracks"]
    say(stdout, f"  frames     {frames}{span}")
    say(
        stdout,
        f"  persons    {_plural(summary['persons'], 'detection')}, {_plural(len(tracks), 'track')}, "
        f"{_plural(summary['held_regions'], 'held region')}",
    )
    say(stdout, f"  obscured   {_plural(summary['obscured_frames'], 'frame')} failed closed")
    for track in tracks[:20]:
        first, last = track["first_time"], track["last_time"]
        when = (
            "" if first is None else f"  {format_clock(first, millis=True)}–{format_clock(last, millis=True)}"
        )
        say(stdout, f"  track {track['id']:<4d} {_plural(track['frames'], 'frame')}{when}")
    if len(tracks) > 20:
        say(stdout, f"  … and {len(tracks) - 20} more tracks")
    originals = summary["originals"]
    if originals is not None:
        size = _field(sidecar.end, "originals", "size")
        lossless = "lossless" if originals.get("lossless") is True else "lossy"
        say(
            stdout,
            f"  originals  {originals.get('name')} sealed to deployment {originals.get('deployment_id')}"
            f" ({lossless}"
            + (f", {size / 1e6:.1f} MB" if type(size) is int else "")
            + "): exact recovery by its key holders",
        )
    if not summary["complete"]:
        stdout.print(
            "  [yellow]incomplete[/yellow]: no end line (the run did not finish); "
            "the frames above are a valid prefix"
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
