"""What one run prints when it ends: the summary on stderr, or one JSON record on stdout (``--json``).

The record has the fields of a batch's records (``recanon_sdk.batch.FileResult.to_json``), so a
script reads one file's run and a batch's the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from recanon_cli._console import clean, stderr


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 track``, ``2 tracks``, ``0 frames``.

    >>> plural(1, "track"), plural(2, "frame"), plural(0, "person detection"), plural(1, "was", "were")
    ('1 track', '2 frames', '0 person detections', '1 was')
    """
    return f"{count} {word if count == 1 else (many or word + 's')}"


def record(source: str, result: Any = None, *, error: Any = None, status: str | None = None) -> dict:
    """The JSON record of a run of ``source``: its ``result`` (a ``RunResult``), or the ``error`` that
    ended it."""
    from recanon_sdk.batch.jobs import FileResult

    out = FileResult(index=0, input=str(source), status=status or ("done" if error is None else "failed"))
    if result is not None:
        out.output, out.sidecar = str(result.output), str(result.sidecar)
        out.manifest = None if result.manifest is None else str(result.manifest)
        out.originals = None if result.originals is None else str(result.originals)
        out.frames, out.persons, out.tracks = result.frames, result.persons, result.tracks
        out.obscured_frames, out.seconds = result.obscured_frames, result.seconds
        out.stopped_early = result.stopped_early
    if error is not None:
        out.error, out.hint = error.message, error.hint
    return out.to_json()


def print_record(data: dict) -> None:
    """One line of JSON on stdout, flushed."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def verify_command(output: Path, deployment: Path) -> str:
    """The command that verifies a signed run, quoted for a POSIX shell where a name needs it.

    >>> verify_command(Path("out.mp4"), Path("lobby.deployment"))
    'recanon verify out.mp4 -d lobby.deployment'
    >>> verify_command(Path("my run.mp4"), Path("a.deployment"))
    "recanon verify 'my run.mp4' -d a.deployment"
    """
    import shlex

    return f"recanon verify {shlex.quote(str(output))} -d {shlex.quote(str(deployment))}"


def print_summary(result: Any, *, stills: bool, deployment: Path | None) -> None:
    """The human summary of one run, on stderr."""
    from recanon_sdk.video.writer import CONTAINER_BY_SUFFIX

    output = Path(result.output)
    as_video = not stills or output.suffix.lower() in CONTAINER_BY_SUFFIX
    what = plural(result.frames, "frame" if as_video else "image")
    rate = f" ({result.fps:.1f} fps)" if as_video else ""
    failed = plural(result.obscured_frames, "frame" if as_video else "image")
    stderr.print(
        f"[bold]done[/bold]  {what} in {result.seconds:.1f} s{rate} · "
        f"{plural(result.persons, 'person detection')} · {plural(result.tracks, 'track')} · "
        f"{failed} failed closed (fully obscured)"
    )
    kind = "video" if as_video else "images" if output.is_dir() else "image"
    stderr.print(f"  {kind:<8} {clean(result.output)}\n  sidecar  {clean(result.sidecar)}", markup=False)
    if result.originals is not None:
        stderr.print(
            f"  sealed   {clean(result.originals)} ({result.originals_bytes / 1e6:.1f} MB, holders only)",
            markup=False,
        )
    if result.manifest is not None:
        check = verify_command(result.output, deployment) if deployment is not None else "recanon verify"
        stderr.print(f"  signed   {clean(result.manifest)} (check with: {clean(check)})", markup=False)
    if result.stopped_early:
        stderr.print(f"  [yellow]note[/yellow]: {clean(result.stopped_early)}")
