"""Verify an anonymized output against its deployment: video, pose sidecar, signature file, manifest.

Companion files of an output ``X.mp4`` (any extension): ``X.pose.jsonl`` (sidecar),
``X.pose.jsonl.sig`` (sidecar signature) and ``X.manifest.json`` (signed run manifest).

>>> companion_paths("runs/out.mp4").manifest.as_posix()
'runs/out.manifest.json'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .deployments import Deployment
from .errors import RecanonKeysError
from .manifest import RunManifest, file_digest, verify_manifest
from .sidecar import verify_sidecar

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


def _read(path: Path, limit: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(limit)


def verify_output(output: str | os.PathLike[str], *, deployment: Deployment) -> VerificationReport:
    """Check everything that can be checked and report each result (never raises for bad files).

    ``deployment`` must come from a trusted source: it is the trust anchor.
    """
    files = companion_paths(output)
    report = VerificationReport(files)
    dep = f"deployment {deployment.name!r} ({deployment.deployment_id}), device {deployment.device.key_id}"
    manifest = None
    if not files.manifest.is_file():
        report.add("manifest", False, f"{files.manifest} is missing")
    else:
        try:
            manifest = verify_manifest(
                _read(files.manifest, 64 * 1024 + 1),
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
            got = file_digest(files.video)
        except OSError as exc:
            report.add("video", False, f"cannot read {files.video}: {exc.strerror}")
        else:
            want = manifest.output
            if (got.sha256, got.size) == (want.sha256, want.size):
                report.add("video", True, f"sha256 {got.sha256} matches the manifest")
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
        summary = verify_sidecar(files.sidecar, files.sidecar_sig, deployment=deployment)
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
