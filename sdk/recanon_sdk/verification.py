"""Verify an anonymized output completely: signatures, names, sealed originals, and what was signed.

:func:`verify_run` is what ``recanon verify`` and the recoverer run. On top of
:func:`recanon_keys.verify_output` (video, sidecar and manifest against the deployment's device
key, and the names the device signed) it

* checks the sealed originals (``X.originals.sealed``) that the signed sidecar names: size and
  SHA-256 against the sidecar's end line when the file is there, ``"absent"`` when it is not;
* collects what the device signed about the run (:class:`SignedRun`: input and output names, run
  id, start and end, frame count, sealed originals) so that a user sees *which* run verified;
* reads every file through one :class:`~recanon_sdk.pinned.PinnedFiles`, so whoever goes on to
  use the files (the recoverer) reads exactly the bytes that were verified.

Sealed originals that the signed sidecar names but that are missing do **not** fail verification:
the video, its sidecar and its manifest are intact, and outputs are often shared without their
originals on purpose. The state is reported (``originals == "absent"``) and exact recovery refuses.

>>> result = verify_run("cam3.anon.mp4", deployment=dep)     # doctest: +SKIP
>>> result.ok, result.originals, result.signed.output_name  # doctest: +SKIP
(True, 'verified', 'cam3.anon.mp4')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import recanon_keys as rk
from recanon_keys.manifest import stream_digest

from recanon_sdk.errors import InputError, SidecarError
from recanon_sdk.pinned import PinnedFiles
from recanon_sdk.video.sidecar import MAX_HEADER, parse_record, read_line

__all__ = ["OutputVerification", "SealedOriginals", "SignedRun", "verify_run"]

#: The end line of a sidecar is looked for in its last this many bytes (recanon's is ~300 bytes).
_END_WINDOW = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class SealedOriginals:
    """The sealed originals a signed sidecar names (header: name, deployment, run; end: size, hash)."""

    name: str
    sha256: str
    size: int
    frames: int | None
    deployment_id: str | None
    run_id: str | None  # hex of the stream's run id
    lossless: bool | None


@dataclass(frozen=True, slots=True)
class SignedRun:
    """What the device signed about one run (from the verified manifest and the verified sidecar)."""

    run_id: str
    input_name: str | None  # None: the input was a live stream
    output_name: str
    sidecar_name: str
    started: datetime
    finished: datetime
    tool: str
    frames: int | None
    originals: SealedOriginals | None

    def describe(self) -> str:
        """One line for people: which run this is.

        >>> from datetime import UTC, datetime
        >>> t = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        >>> run = SignedRun("AAAA", "in.mp4", "out.mp4", "out.pose.jsonl", t, t, "recanon 0.1", 12, None)
        >>> run.describe()
        'input in.mp4 → output out.mp4, run AAAA, 2025-01-31 12:00:00 to 12:00:00 UTC, 12 frames, recanon 0.1'
        """
        source = self.input_name if self.input_name is not None else "(a live stream; not recorded)"
        frames = f"{self.frames} frames" if self.frames is not None else "frame count not recorded"
        return (
            f"input {source} → output {self.output_name}, run {self.run_id}, "
            f"{self.started:%Y-%m-%d %H:%M:%S} to {self.finished:%H:%M:%S} UTC, {frames}, {self.tool}"
        )


@dataclass
class OutputVerification:
    """The result of :func:`verify_run`.

    ``originals``: ``"verified"`` (present and as signed), ``"failed"`` (present but altered, or
    named wrongly), ``"absent"`` (named by the signed sidecar, missing on disk), ``"none"`` (the run
    sealed no originals) or ``"unchecked"`` (the sidecar did not verify, so nothing it says is used).
    """

    report: rk.VerificationReport
    pins: PinnedFiles
    signed: SignedRun | None = None
    originals: str = "unchecked"
    originals_path: Path | None = None
    originals_detail: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.report.ok

    def failures(self) -> list[rk.Check]:
        return self.report.failures()


def verify_run(
    video: str | os.PathLike[str],
    *,
    deployment: rk.Deployment,
    allow_rename: bool = False,
    originals: str | os.PathLike[str] | None = None,
    pins: PinnedFiles | None = None,
) -> OutputVerification:
    """Verify ``video`` and its companions; never raises for bad files (see :class:`OutputVerification`).

    ``originals``: check this file instead of the one the sidecar names next to the video.
    ``pins``: the files are read (and pinned) through it; pass one to keep using the verified bytes.
    """
    video = Path(video)
    pins = pins if pins is not None else PinnedFiles()
    report = rk.verify_output(video, deployment=deployment, allow_rename=allow_rename, opener=pins.open)
    result = OutputVerification(report, pins)
    if not any(c.name == "sidecar" and c.ok for c in report.checks):
        return result  # nothing the sidecar says can be trusted
    try:
        result.header, result.end = _edge_records(pins, report.files.sidecar)
    except SidecarError as error:
        report.add("sidecar", False, f"the signed sidecar cannot be read: {error.message}")
        return result
    sealed = _sealed_originals(result.header, result.end)
    manifest = report.manifest
    if manifest is not None:
        frames = (result.end or {}).get("frames")
        result.signed = SignedRun(
            run_id=manifest.sidecar.run_id,
            input_name=manifest.input.name if manifest.input is not None else None,
            output_name=manifest.output.name,
            sidecar_name=manifest.sidecar_name,
            started=manifest.started,
            finished=manifest.finished,
            tool=f"{manifest.tool_name} {manifest.tool_version}",
            frames=frames if type(frames) is int and frames >= 0 else None,
            originals=sealed if isinstance(sealed, SealedOriginals) else None,
        )
    _check_originals(result, video, sealed, None if originals is None else Path(originals))
    return result


def _edge_records(pins: PinnedFiles, sidecar: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The header (first line) and the end record (last line, if it is one) of a sidecar, bounded."""
    with pins.open(sidecar) as handle:
        header = parse_record(read_line(handle, MAX_HEADER, "line 1"), "line 1")
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - _END_WINDOW)
        handle.seek(start)
        tail = handle.read(_END_WINDOW)
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    if len(lines) < 2 and start > 0:
        return header, None  # a last line longer than the window is no end line of recanon's
    try:
        end = parse_record(lines[-1], "the last line")
    except SidecarError:
        return header, None
    return header, end if end.get("type") == "end" else None


def _plain_name(value: Any) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= 255 or not value.isprintable():
        return None
    return value if value not in (".", "..") and "/" not in value and "\\" not in value else None


def _sealed_originals(header: dict[str, Any], end: dict[str, Any] | None) -> SealedOriginals | str | None:
    """What the signed sidecar says about sealed originals: a record, a sentence why it is bad, or None."""
    head = header.get("originals")
    tail = (end or {}).get("originals")
    if head is None and tail is None:
        return None
    if not isinstance(head, dict) or not isinstance(tail, dict):
        return "the signed sidecar names sealed originals but not both their name and their hash"
    name = _plain_name(tail.get("name"))
    sha256, size, frames = tail.get("sha256"), tail.get("size"), tail.get("frames")
    if (
        name is None
        or head.get("name") != name
        or not isinstance(sha256, str)
        or not _HEX64.fullmatch(sha256)
        or type(size) is not int
        or not 0 <= size <= 2**62
    ):
        return "the signed sidecar names its sealed originals inconsistently (name, sha256 or size)"
    run_id, deployment_id, lossless = head.get("run_id"), head.get("deployment_id"), head.get("lossless")
    return SealedOriginals(
        name=name,
        sha256=sha256,
        size=size,
        frames=frames if type(frames) is int and frames >= 0 else None,
        deployment_id=deployment_id if isinstance(deployment_id, str) and len(deployment_id) <= 64 else None,
        run_id=run_id if isinstance(run_id, str) and _HEX32.fullmatch(run_id) else None,
        lossless=lossless if isinstance(lossless, bool) else None,
    )


def _check_originals(
    result: OutputVerification, video: Path, sealed: SealedOriginals | str | None, given: Path | None
) -> None:
    if sealed is None:
        result.originals = "none"
        result.originals_detail = "this run sealed no originals"
        if given is not None:
            result.report.add("originals", False, "the signed sidecar names no sealed originals")
            result.originals = "failed"
        return
    if isinstance(sealed, str):
        result.originals = "failed"
        result.report.add("originals", False, sealed)
        return
    path = given if given is not None else video.with_name(sealed.name)
    result.originals_path = path
    if not path.is_file():
        result.originals = "absent"
        result.originals_detail = (
            f"{path.name} is named by the signed sidecar ({sealed.size} bytes) but absent: "
            "exact recovery is impossible without it"
        )
        return
    try:
        with result.pins.open(path) as handle:
            got = stream_digest(handle, path.name)
    except (OSError, InputError) as error:
        result.originals = "failed"
        result.report.add("originals", False, f"cannot read {path.name}: {error}")
        return
    if (got.sha256, got.size) == (sealed.sha256, sealed.size):
        result.originals = "verified"
        result.report.add(
            "originals",
            True,
            f"{path.name}: sha256 {got.sha256} ({got.size} bytes) matches the signed sidecar",
        )
    else:
        result.originals = "failed"
        result.report.add(
            "originals",
            False,
            f"{path.name} is not the sealed originals file the signed sidecar names: "
            f"sha256 {got.sha256} ({got.size} bytes), signed {sealed.sha256} ({sealed.size} bytes)",
        )
