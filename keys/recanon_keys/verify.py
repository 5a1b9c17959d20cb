"""Verify an anonymized output against its deployment: video, pose sidecar, signature file, manifest.

Companion files of an output ``X.mp4`` (any extension): ``X.pose.jsonl`` (sidecar),
``X.pose.jsonl.sig`` (sidecar signature) and ``X.manifest.json`` (signed run manifest).

>>> companion_paths("runs/out.mp4").manifest.as_posix()
'runs/out.manifest.json'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .deployments import Deployment
from .errors import RecanonKeysError
from .manifest import MAX_MANIFEST, RunManifest, stream_digest, verify_manifest
from .sidecar import verify_sidecar

#: Opens a file for reading in binary mode; every file ``verify_output`` checks is read through it.
Opener = Callable[[Path], BinaryIO]

__all__ = ["Check", "OutputFiles", "VerificationReport", "companion_paths", "verify_output"]


@dataclass(frozen=True)
class OutputFiles:
    video: Path
    sidecar: Path
    sidecar_sig: Path
    manifest: Path


def companion_paths(output: str | os.PathLike[str]) -> OutputFiles:
    """The files the anonymizer writes next to ``output``."""
    video = Path(output)
    sidecar = video.with_suffix(".pose.jsonl")
    return OutputFiles(
        video, sidecar, sidecar.with_name(sidecar.name + ".sig"), video.with_suffix(".manifest.json")
    )


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    line: int | None = None  # first bad sidecar line, when known


@dataclass
class VerificationReport:
    files: OutputFiles
    checks: list[Check] = field(default_factory=list)
    manifest: RunManifest | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str, line: int | None = None) -> None:
        self.checks.append(Check(name, ok, detail, line))


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")


def verify_output(
    output: str | os.PathLike[str],
    *,
    deployment: Deployment,
    allow_rename: bool = False,
    opener: Opener | None = None,
) -> VerificationReport:
    """Check everything that can be checked and report each result (never raises for bad files).

    ``deployment`` must come from a trusted source: it is the trust anchor. The video must carry the
    name the device signed (a copy of another output under this name fails the ``video`` check)
    unless ``allow_rename``. ``opener`` reads the files (default: ``open(path, "rb")``): a caller
    that goes on to use the files passes one that pins what was read (``recanon_sdk.pinned``).
    """
    opener = opener or _open_binary
    files = companion_paths(output)
    report = VerificationReport(files)
    dep = f"deployment {deployment.name!r} ({deployment.deployment_id}), device {deployment.device.key_id}"
    manifest = None
    if not files.manifest.is_file():
        report.add("manifest", False, f"{files.manifest} is missing")
    else:
        try:
            with opener(files.manifest) as handle:
                data = handle.read(MAX_MANIFEST + 1)
            manifest = verify_manifest(
                data,
                deployment=deployment,
                what=f"the manifest {files.manifest.name}",
            )
            report.manifest = manifest
            report.add("manifest", True, f"signed by {dep}; run {manifest.sidecar.run_id}")
        except RecanonKeysError as exc:
            report.add("manifest", False, exc.message)
        except OSError as exc:
            report.add("manifest", False, f"cannot read {files.manifest}: {exc.strerror}")

    if not files.video.is_file():
        report.add("video", False, f"{files.video} is missing")
    elif manifest is not None:
        try:
            with opener(files.video) as handle:
                got = stream_digest(handle, files.video.name)
        except OSError as exc:
            report.add("video", False, f"cannot read {files.video}: {exc.strerror}")
        else:
            want = manifest.output
            if (got.sha256, got.size) == (want.sha256, want.size):
                _check_name(
                    report, files, manifest, allow_rename, f"sha256 {got.sha256} matches the manifest"
                )
            else:
                report.add(
                    "video",
                    False,
                    f"{files.video.name} does not match the manifest: "
                    f"sha256 {got.sha256} ({got.size} bytes), "
                    f"signed {want.sha256} ({want.size} bytes)",
                )
    else:
        report.add("video", False, "cannot be checked without a valid manifest")

    if not files.sidecar.is_file() or not files.sidecar_sig.is_file():
        missing = [str(p) for p in (files.sidecar, files.sidecar_sig) if not p.is_file()]
        report.add("sidecar", False, f"missing: {', '.join(missing)}")
        return report
    try:
        with opener(files.sidecar) as side, opener(files.sidecar_sig) as sig:
            summary = verify_sidecar(side, sig, deployment=deployment)
    except RecanonKeysError as exc:
        report.add("sidecar", False, exc.message, line=getattr(exc, "first_bad_line", None))
        return report
    except OSError as exc:
        report.add("sidecar", False, f"cannot read the sidecar: {exc.strerror}")
        return report
    report.add("sidecar", True, f"{summary.lines} lines, all signed by the device")
    if manifest is not None:
        want = manifest.sidecar
        if (summary.run_id, summary.chain_head, summary.lines) != (want.run_id, want.chain_head, want.lines):
            report.add(
                "sidecar vs manifest",
                False,
                f"the sidecar (run {summary.run_id}, {summary.lines} lines) "
                f"is not the one the manifest names "
                f"(run {want.run_id}, {want.lines} lines)",
            )
        elif (summary.sha256, summary.size) != (want.sha256, want.size):
            report.add("sidecar vs manifest", False, "the sidecar's sha256 differs from the manifest")
        else:
            report.add("sidecar vs manifest", True, "same run, same chain head")
    return report


def _check_name(
    report: VerificationReport, files: OutputFiles, manifest: RunManifest, allow_rename: bool, matched: str
) -> None:
    """The video's bytes match: does it also carry the names the device signed?"""
    signed = (manifest.output.name, manifest.sidecar_name)
    if (files.video.name, files.sidecar.name) == signed:
        report.add("video", True, matched)
    elif allow_rename:
        report.add("video", True, f"{matched}; signed as {signed[0]!r}, renamed (allowed)")
    else:
        report.add(
            "video",
            False,
            f"{files.video.name!r} is the output the device signed as {signed[0]!r} "
            f"(sidecar {signed[1]!r}): another output's files were copied over this one, or it was renamed",
        )
