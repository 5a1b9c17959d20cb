"""Whether a job's outputs are already complete, for ``--resume``.

An output is **complete** when its sidecar ends with the end record (``"type":"end"``,
``"complete":true``), which the anonymizer writes only once every frame is encoded and commits after
the video; and, when the batch signs, when the run verifies
(:func:`~recanon_sdk.verification.verify_run`: video, sidecar and manifest as the device signed
them, and the sealed originals too when the batch seals them). Partial outputs never exist under
final names (they are hidden temporaries until the run commits), so an output that is there but not
complete was damaged or left by something else: ``--resume`` reports it and redoes it only with
``--overwrite``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from recanon_sdk.batch.jobs import BatchSettings, Job
from recanon_sdk.errors import SidecarError
from recanon_sdk.video.sidecar import parse_record

State = Literal["absent", "complete", "incomplete"]
#: The end record is looked for in the sidecar's last this many bytes (recanon's is ~300 bytes).
END_WINDOW = 64 * 1024


@dataclass(frozen=True, slots=True)
class OutputState:
    state: State
    detail: str = ""


def sidecar_end(path: os.PathLike[str] | str) -> dict | None:
    """The sidecar's end record, or ``None`` if its last line is not one (reads at most 64 KiB)."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - END_WINDOW)
        handle.seek(start)
        tail = handle.read(END_WINDOW)
    lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
    if not lines[-1] or (len(lines) < 2 and start > 0):
        return None
    try:
        record = parse_record(lines[-1], "the last line")
    except SidecarError:
        return None
    return record if record.get("type") == "end" else None


def output_state(job: Job, settings: BatchSettings) -> OutputState:
    """``absent`` (nothing of it there), ``complete`` or ``incomplete`` (with the reason)."""
    present = [p for p in job.final_paths(signed=settings.signed, sealed=settings.sealed) if p.exists()]
    if not present:
        return OutputState("absent")
    if not job.output.exists():
        return OutputState("incomplete", f"'{job.output.name}' is missing but its companions are there")
    if not job.sidecar.is_file():
        return OutputState("incomplete", f"its sidecar '{job.sidecar.name}' is missing")
    try:
        end = sidecar_end(job.sidecar)
    except OSError as error:
        return OutputState("incomplete", f"its sidecar cannot be read: {error.strerror}")
    if end is None or end.get("complete") is not True:
        return OutputState("incomplete", "its sidecar has no end record (the run did not finish)")
    if settings.signing is None:
        return OutputState("complete")
    return _verified(job, settings)


def _verified(job: Job, settings: BatchSettings) -> OutputState:
    import recanon_keys as rk

    from recanon_sdk.verification import verify_run

    if settings.signing is None:
        return OutputState("complete")
    try:
        deployment = rk.load_deployment(
            settings.signing.deployment.read_bytes(), what=str(settings.signing.deployment)
        )
    except (OSError, rk.RecanonKeysError) as error:
        return OutputState("incomplete", f"the deployment cannot be read to verify it: {error}")
    result = verify_run(job.output, deployment=deployment)
    if not result.ok:
        failed = "; ".join(c.detail for c in result.failures()[:2]) or "no signature checked"
        return OutputState("incomplete", f"it does not verify: {failed}")
    if settings.sealed and result.originals != "verified":
        return OutputState("incomplete", f"its sealed originals are {result.originals}")
    return OutputState("complete")
